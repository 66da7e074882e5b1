package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOutputFileAtomic(t *testing.T) {
	errRender := errors.New("render failed")
	tests := []struct {
		name     string
		old      string // content before, "" for no file
		render   func(io.Writer) error
		wantErr  error
		want     string // content after
		wantMode os.FileMode
	}{
		{
			name:   "new file",
			render: func(w io.Writer) error { _, err := io.WriteString(w, "a 1\n"); return err },
			want:   "a 1\n", wantMode: 0o644,
		},
		{
			name: "replaces, keeping the mode", old: "old\n",
			render: func(w io.Writer) error { _, err := io.WriteString(w, "a 2\n"); return err },
			want:   "a 2\n", wantMode: 0o600,
		},
		{
			name: "failed render leaves the old file", old: "old\n",
			render: func(w io.Writer) error {
				io.WriteString(w, "half")
				return errRender
			},
			wantErr: errRender, want: "old\n", wantMode: 0o600,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "udsls.prom")
			if tt.old != "" {
				if err := os.WriteFile(path, []byte(tt.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			f, err := openOutputFile(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.commit(tt.render); !errors.Is(err, tt.wantErr) {
				t.Errorf("commit error = %v, want %v", err, tt.wantErr)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(b)); diff != "" {
				t.Errorf("content (-want +got):\n%s", diff)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != tt.wantMode {
				t.Errorf("mode = %v (%v), want %v", fi.Mode().Perm(), err, tt.wantMode)
			}
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(ents) != 1 {
				t.Errorf("directory holds %d entries, want the output alone: no temporary left", len(ents))
			}
		})
	}

	if _, err := openOutputFile(context.Background(), filepath.Join(t.TempDir(), "no-dir", "udsls.prom")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("writing into a missing directory: error %v, want not exist", err)
	}
}
