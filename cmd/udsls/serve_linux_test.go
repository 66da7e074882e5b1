package main

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeReaderGone: `udsls --serve DIR | head -1` ends when head does, and removes every
// file it made, DIR included; it used to die of SIGPIPE or serve on with nobody reading.
// The reader leaves after one line (the manifest may or may not be written whole by then),
// or before udsls wrote anything (its first write fails with EPIPE).
func TestServeReaderGone(t *testing.T) {
	bin := buildUdsls(t)
	for _, firstLine := range []bool{true, false} {
		testServeReaderGone(t, bin, firstLine)
	}
}

func testServeReaderGone(t *testing.T, bin string, firstLine bool) {
	dir := filepath.Join(t.TempDir(), "srv")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--serve", dir)
	cmd.Stdout = w
	if !firstLine {
		r.Close() // gone before udsls starts
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if firstLine {
		line, err := bufio.NewReader(r).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "serving ") {
			t.Fatalf("first line %q, %v", line, err)
		}
		r.Close() // as head does after one line
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("udsls --serve after its reader left: %v; want exit 0", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("udsls --serve still serves 30s after its reader left")
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s left behind: %v", dir, err)
	}
}
