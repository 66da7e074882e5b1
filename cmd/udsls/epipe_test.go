//go:build linux

package main

import (
	"bytes"
	"context"
	"path/filepath"
	"syscall"
	"testing"
)

// epipeAfter takes n writes, then fails each with EPIPE, as a pipe whose
// reader left does.
type epipeAfter struct{ n int }

func (w *epipeAfter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, syscall.EPIPE
	}
	w.n--
	return len(p), nil
}

// TestReaderGoneStatus: a reader that leaves --serve is no error: exit 0,
// nothing on stderr. `udsls --serve | head -1` exited 2 with an
// empty stderr whenever head left before the manifest's last line.
func TestReaderGoneStatus(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--serve", "--for", "1ms", filepath.Join(dir, "srv")},
		{"--serve", "-o", "json", "--for", "1ms", filepath.Join(dir, "srv")},
	} {
		for _, n := range []int{0, 1} {
			var stderr bytes.Buffer
			code := run(context.Background(), args, &epipeAfter{n: n}, &stderr)
			if code != exitOK || stderr.Len() != 0 {
				t.Errorf("udsls %q, reader gone after %d writes: exit %d, stderr %q; want 0 and nothing", args, n, code, stderr.String())
			}
		}
	}
}
