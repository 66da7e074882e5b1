// Package darwin reads Unix domain sockets on macOS, which has no /proc:
// `lsof -U -F` says which processes hold which sockets, `netstat -f unix`
// lists every socket with its type, queues and peer, and package capture
// parses both and joins them on the socket's kernel address. This package
// only runs the two tools; the wiring in source_darwin.go is tagged, the
// running of commands builds everywhere so that it is tested on Linux.
package darwin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/udsls/udsls/platform/capture"
)

// LsofFields are the -F fields the backend asks for: pid, command, uid,
// login, fd, type, device (the kernel address), inode (Linux lsof only),
// name and TCP/TPI state (Linux lsof's TST=, nothing on macOS), NUL
// terminated. f is named because lsof 4.94 and later no longer add it.
const LsofFields = "pcuLftdinT0"

// lsofArgs select unix sockets (-U) without host, port or user lookups
// and without warnings; -w keeps stderr for real failures. extra follows
// (tests narrow it to one pid).
func lsofArgs(extra ...string) []string {
	return append([]string{"-U", "-n", "-P", "-w", "-F", LsofFields}, extra...)
}

// timeout bounds each command: lsof walks every process, which takes
// seconds on a busy Mac.
const timeout = 60 * time.Second

// exitError is a command that ran and failed.
type exitError struct {
	code   int
	stderr string
}

// run runs a command with LC_ALL=C for at most limit. Its errors name the
// command and carry what it wrote on stderr; an *exitError is returned
// with the output when the command exited non-zero.
func run(parent context.Context, limit time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(parent, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	msg := strings.TrimSpace(stderr.String())
	var ee *exec.ExitError
	switch {
	case err == nil:
		return stdout.Bytes(), nil
	case errors.Is(err, exec.ErrNotFound):
		return nil, fmt.Errorf("%s not found in PATH: udsls needs it to list sockets on this system", name)
	case parent.Err() != nil:
		return nil, fmt.Errorf("%s: %w", name, parent.Err())
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: no answer within %v", name, limit)
	case errors.As(err, &ee) && ee.Exited():
		return stdout.Bytes(), &exitError{code: ee.ExitCode(), stderr: msg}
	case msg != "":
		return nil, fmt.Errorf("%s: %v: %s", name, err, msg)
	}
	return nil, fmt.Errorf("%s: %v", name, err)
}

func (e *exitError) Error() string {
	if e.stderr == "" {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return fmt.Sprintf("exit status %d: %s", e.code, e.stderr)
}

// readLsof runs lsof with lsofArgs(extra...). lsof exits 1 when some search item found nothing or some process
// could not be examined; with output that is a partial answer, so a
// warning, and without output and without a message it is no socket at all.
func readLsof(ctx context.Context, extra ...string) (*capture.Lsof, []string, error) {
	out, err := run(ctx, timeout, "lsof", lsofArgs(extra...)...)
	var warnings []string
	var ee *exitError
	if errors.As(err, &ee) && ee.code == 1 && (len(out) > 0 || ee.stderr == "") {
		if len(out) > 0 {
			w := "lsof exited with status 1: some processes could not be examined, so some holders may be missing"
			if ee.stderr != "" {
				w += " (" + firstLine(ee.stderr) + ")"
			}
			warnings = append(warnings, w)
		}
		err = nil
	}
	if err != nil {
		if ee != nil {
			return nil, nil, fmt.Errorf("lsof: %w", err)
		}
		return nil, nil, err
	}
	l, err := capture.ParseLsofFields(bytes.NewReader(out))
	if err != nil {
		return nil, nil, fmt.Errorf("lsof output: %w", err)
	}
	return l, warnings, nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
