package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestStderrEscapesEveryLine(t *testing.T) {
	var b bytes.Buffer
	s := newStderr(&b)
	s.error(&os.PathError{Op: "lstat", Path: "/tmp/\x1b[2J\nfake line\u034f\xff", Err: errors.New("file name too long")})
	e := &env{stderr: s}
	e.warn("cannot audit %q: %v", "/tmp/a\tb", errors.New("lstat /tmp/\x1b]0;title\x07: permission denied"))
	s.hint("see 'udsls --help'")
	want := `udsls: error: lstat /tmp/\x1b[2J\nfake line\u034f\xff: file name too long
udsls: warning: cannot audit "/tmp/a\tb": lstat /tmp/\x1b]0;title\x07: permission denied
udsls: hint: see 'udsls --help'
`
	if got := b.String(); got != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
	}
}

// TestOnlyStderrWrites keeps the escaping structural: outside stderr.go
// no file of the command may reach the raw standard error.
func TestOnlyStderrWrites(t *testing.T) {
	raw := regexp.MustCompile(`os\.Stderr|\bstderr\.w\b|\berrOut\b|syscall\.Stderr|unix\.Stderr`)
	allowed := map[string]int{"stderr.go": -1, "main.go": 1, "run.go": 2}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := len(raw.FindAll(data, -1))
		if max, ok := allowed[f]; ok && (max < 0 || n <= max) {
			continue
		}
		if n > 0 {
			t.Errorf("%s reaches the raw stderr %d times: write through env.warn or the stderr type (stderr.go), which escape", f, n)
		}
	}
}

// TestStderrHold: lines said while held are written at release, the last
// maxHeld of them and how many were dropped; later ones go straight out.
func TestStderrHold(t *testing.T) {
	var b strings.Builder
	s := &stderr{w: &b, tty: true}
	release := s.hold()
	for i := range maxHeld + 5 {
		s.say("info", strconv.Itoa(i))
	}
	if b.Len() != 0 {
		t.Fatalf("written while held: %q", b.String())
	}
	release()
	s.say("info", "after")
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != maxHeld+2 || !strings.Contains(lines[0], "5 earlier lines") ||
		lines[1] != "udsls: info: 5" || lines[maxHeld] != "udsls: info: "+strconv.Itoa(maxHeld+4) || lines[maxHeld+1] != "udsls: info: after" {
		t.Errorf("after release:\n%s", b.String())
	}
}
