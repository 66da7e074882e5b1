package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/mattn/go-isatty"
)

// env is what every mode gets from run: the output streams and the
// decisions taken once for the whole invocation.
type env struct {
	stdout, stderr io.Writer
	color          bool          // stdout is a terminal that wants colour
	stderrTTY      bool          // progress lines may be drawn on stderr
	out            *outFile      // --output-file, opened before any work
	stream         *stickyWriter // stdout as written through stdout, to stop it
}

func (e *env) warn(format string, a ...any) {
	fmt.Fprintf(e.stderr, "udsls: warning: %s\n", fmt.Sprintf(format, a...))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args)
	if err != nil {
		fmt.Fprintf(stderr, "udsls: error: %s\n", errorText(err))
		fmt.Fprintf(stderr, "udsls: hint: see 'udsls --help'\n")
		return exitError
	}
	if o.help {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	if o.version {
		fmt.Fprintf(stdout, "udsls %s\n", version())
		return exitOK
	}
	if err := checkFDLimit(); err != nil {
		fmt.Fprintf(stderr, "udsls: error: %s\n", errorText(err))
		return exitError
	}
	// Renderers such as the table's drop write errors; this one keeps
	// the first, so that no output is lost silently (`udsls > /dev/full`).
	out := &stickyWriter{w: stdout}
	e := &env{stdout: out, stream: out, stderr: stderr, color: wantColor(o.color, stdout), stderrTTY: isTerminal(stderr)}
	if o.outputFile != "" {
		// Refused before any work: a run that would remove stale files
		// must not end unable to record it.
		if e.out, err = openOutputFile(ctx, o.outputFile); err != nil {
			fmt.Fprintf(stderr, "udsls: error: %s\n", errorText(err))
			return exitError
		}
		defer e.out.discard()
	}

	var code int
	switch o.mode {
	case modeServe:
		code, err = runServe(ctx, o, e)
	case modeStale:
		code, err = runStale(ctx, o, e)
	case modeCheck:
		code, err = runCheck(ctx, o, e)
	case modeAudit:
		code, err = runAudit(ctx, o, e)
	default:
		code, err = runList(ctx, o, e)
	}
	if werr := out.stop(); err == nil && werr != nil {
		code, err = exitError, werr
	}
	if sig, ok := context.Cause(ctx).(interrupted); ok {
		// Whatever the mode made of the cancellation, the run was cut
		// short: say so as a shell would for a command the signal killed.
		return 128 + int(sig.sig)
	}
	if err != nil {
		// A reader that went away (`udsls | head`) is not an error.
		if errors.Is(err, syscall.EPIPE) {
			return code
		}
		fmt.Fprintf(stderr, "udsls: error: %s\n", errorText(err))
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "udsls: hint: see 'udsls --help'\n")
		}
		return exitError
	}
	return code
}

// maxErrorText bounds an error line: the error about a malformed capture
// quotes the bad input, which may be megabytes without a newline.
const maxErrorText = 1024

func errorText(err error) string {
	s := err.Error()
	if len(s) <= maxErrorText {
		return s
	}
	cut := maxErrorText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "... (" + strconv.Itoa(len(s)-cut) + " more bytes)"
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

func wantColor(flag string, stdout io.Writer) bool {
	switch flag {
	case "always":
		return true
	case "never":
		return false
	}
	return isTerminal(stdout) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

// stickyWriter remembers the first write error; every later write fails
// with it, so that output stops at the first lost byte. Once stopped it
// writes nothing more, whoever is still writing.
type stickyWriter struct {
	mu      sync.Mutex
	w       io.Writer
	err     error
	stopped bool
}

// errStopped is what a rendering abandoned by interruptible gets.
var errStopped = errors.New("output stopped")

func (s *stickyWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return 0, errStopped
	}
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

// Flush passes a flush on, so that a buffered stdout (as in tests) still
// delivers --serve's manifest when it is ready.
func (s *stickyWriter) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil && !s.stopped {
		if f, ok := s.w.(interface{ Flush() error }); ok {
			s.err = f.Flush()
		}
	}
	return s.err
}

// stop ends the output and returns the first write error.
func (s *stickyWriter) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	return s.err
}

// interruptible runs render, a rendering to stdout, but returns as soon as
// ctx is done, leaving it to finish writing nowhere: the table is laid out
// by a library that cannot be stopped, and for 100k rows that takes tens
// of seconds.
func interruptible(ctx context.Context, e *env, render func() error) error {
	done := make(chan error, 1)
	go func() { done <- render() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		e.stream.stop()
		return ctx.Err()
	}
}
