//go:build linux || darwin

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// serveManifest mirrors the documented JSON of udsls --serve -o json.
type serveManifest struct {
	Dir     string `json:"dir"`
	PID     int    `json:"pid"`
	Sockets []struct {
		Role      string `json:"role"`
		Path      string `json:"path"`
		Abstract  bool   `json:"abstract"`
		Type      string `json:"type"`
		State     string `json:"state"`
		Inode     uint64 `json:"inode"`
		PID       int    `json:"pid"`
		FD        int    `json:"fd"`
		PeerInode uint64 `json:"peer_inode"`
		Queued    int    `json:"queued"`
	} `json:"sockets"`
}

// TestServeJSON reads the manifest line as a script would, talks to the
// live server, then cancels it and checks that it cleaned up.
func TestServeJSON(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "serve")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int)
	go func() {
		code := run(ctx, []string{"--serve", "-o", "json", "--count", "2", dir}, pw, &stderr)
		pw.Close()
		done <- code
	}()

	line, err := bufio.NewReader(pr).ReadBytes('\n')
	if err != nil {
		t.Fatalf("reading the manifest: %v (stderr %q)", err, stderr.String())
	}
	var m serveManifest
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("manifest %q: %v", line, err)
	}
	if m.Dir != dir || m.PID != os.Getpid() {
		t.Errorf("manifest dir %q pid %d, want %q %d", m.Dir, m.PID, dir, os.Getpid())
	}
	roles := map[string]int{}
	for _, s := range m.Sockets {
		roles[s.Role]++
		switch s.Role {
		case "echo-stream":
			if s.Type != "stream" || s.State != "listening" {
				t.Errorf("echo-stream is %s %s, want stream listening", s.Type, s.State)
			}
			c, err := net.Dial("unix", s.Path)
			if err != nil {
				t.Fatalf("dial echo-stream while serving: %v", err)
			}
			c.Close()
		case "client":
			if s.Queued == 0 || s.PeerInode == 0 || s.FD == 0 {
				t.Errorf("client %+v lacks queued bytes, peer or fd", s)
			}
		case "stale":
			if s.PID != 0 || s.FD != 0 || s.Inode != 0 || s.State != "" {
				t.Errorf("stale %+v has a holder or state", s)
			}
		}
	}
	if roles["set-listener"] != 2 || roles["echo-dgram"] != 1 || roles["hostile"] != 1 {
		t.Errorf("roles %v, want 2 set-listener, 1 echo-dgram, 1 hostile", roles)
	}

	cancel()
	if rest, _ := io.ReadAll(pr); len(rest) > 0 {
		t.Errorf("more output after the manifest: %q", rest)
	}
	if code := <-done; code != exitOK {
		t.Errorf("exit %d after cancel, want 0 (stderr %q)", code, stderr.String())
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the directory --serve created is still there: %v", err)
	}
}

func TestServeTable(t *testing.T) {
	tests := []struct {
		name      string
		count     string
		setRows   int
		summary   bool
		setsShown int
	}{
		{"few sets", "2", 6, false, 2},
		{"many sets", "25", 3 * shownSets, true, shownSets},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"--serve", "--for", "1ms", "--count", tt.count, dir}, &stdout, &stderr)
			if code != exitOK || stderr.Len() > 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr.String())
			}
			out := stdout.String()
			if strings.ContainsAny(out, "\x1b\r") {
				t.Errorf("raw control bytes in the table:\n%s", out)
			}
			if want := `odd name\n\x1b[31m.sock`; !strings.Contains(out, want) {
				t.Errorf("table lacks the escaped hostile name %q:\n%s", want, out)
			}
			if got := strings.Count(out, "\nset-"); got != tt.setRows {
				t.Errorf("%d set rows, want %d:\n%s", got, tt.setRows, out)
			}
			if got := strings.Contains(out, "more sets"); got != tt.summary {
				t.Errorf("summary line shown: %v, want %v:\n%s", got, tt.summary, out)
			}
			ents, err := os.ReadDir(dir)
			if err != nil || len(ents) > 0 {
				t.Errorf("after --for the existing dir holds %d files (%v), want it empty", len(ents), err)
			}
		})
	}
}

func TestServeErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"two dirs", []string{"--serve", "a", "b"}, "udsls: error: --serve takes at most one directory, got 2 arguments\nudsls: hint: see 'udsls --help'\n"},
		{"negative count", []string{"--serve", "--count", "-1"}, "udsls: error: --count must not be negative, got -1\nudsls: hint: see 'udsls --help'\n"},
		{"negative for", []string{"--serve", "--for", "-1s"}, "udsls: error: --for must not be negative, got -1s\nudsls: hint: see 'udsls --help'\n"},
		{"not a dir", []string{"--serve", file}, "udsls: error: testserver: \"" + file + "\" is not a directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != exitError || stdout.Len() > 0 {
				t.Errorf("run(%q) = %d with stdout %q, want 2 and nothing", tt.args, code, stdout.String())
			}
			if diff := cmp.Diff(tt.want, stderr.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}
