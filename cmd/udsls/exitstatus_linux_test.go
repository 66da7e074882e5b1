package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExitStatusReaderGone: a watch whose reader leaves ends by SIGPIPE,
// status 141 in a shell, and README's exit-status table says so. The table
// listed 0, 1, 2, 129, 130 and 143 only, though `udsls --watch | head -1`
// ends this way.
func TestExitStatusReaderGone(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(readme), "\n## Exit status\n")
	table, _, _ = strings.Cut(table, "\n## ")
	if !regexp.MustCompile(`(?m)^\| 141 \|.*SIGPIPE`).MatchString(table) {
		t.Errorf("README's Exit status table has no row for 141 (SIGPIPE)")
	}
	if !strings.Contains(table, "--metrics-listen") {
		t.Errorf("README's Exit status table does not say the exporter exits 0 when stopped")
	}

	if !strings.Contains(usage, "141") {
		t.Errorf("--help's exit statuses do not name 141")
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(buildUdsls(t), "--watch", "-o", "json", "--interval", "10ms", "--for", "2m")
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if _, err := bufio.NewReader(r).ReadString('\n'); err != nil {
		t.Fatalf("first line of the watch: %v", err)
	}
	r.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the watch still runs a minute after its reader left")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("watch ended with %v, want death by SIGPIPE", err)
	}
	if ws := ee.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGPIPE {
		t.Errorf("watch ended with %v, want death by SIGPIPE (141 in a shell)", err)
	}
}
