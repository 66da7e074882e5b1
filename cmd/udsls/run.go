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

	"github.com/mattn/go-isatty"
)

// env is what every mode gets from run: the output streams and the
// decisions taken once for the whole invocation.
type env struct {
	stdout io.Writer
	stderr *stderr       // every line escaped; see stderr.go
	color  bool          // stdout is a terminal that wants colour
	width  int           // columns of the terminal on stdout; 0 when not a terminal
	quiet  bool          // -q: no warnings, notes or hints
	out    *outFile      // --output-file, opened before any work
	stream *stickyWriter // stdout as written through stdout, to stop it
	// term is stdout when it is a terminal, for a full-screen view.
	term *os.File
}

func (e *env) warn(format string, a ...any) {
	if !e.quiet {
		e.stderr.say("warning", fmt.Sprintf(format, a...))
	}
}

// note tells a person what an empty or clean result means; scripts read the exit status.
func (e *env) note(format string, a ...any) {
	if !e.quiet {
		e.stderr.note(fmt.Sprintf(format, a...))
	}
}

func (e *env) hint(format string, a ...any) {
	if !e.quiet {
		e.stderr.hint(fmt.Sprintf(format, a...))
	}
}

func run(ctx context.Context, args []string, stdout, errOut io.Writer) int {
	stderr := newStderr(errOut)
	o, err := parseFlags(args)
	if err != nil {
		stderr.error(err)
		stderr.hint("see 'udsls --help'")
		return exitError
	}
	if o.help || o.version || o.completion != "" || o.man {
		text := "udsls " + version() + "\n"
		switch {
		case o.help:
			text = usage
		case o.completion != "":
			text = completionScript(o.completion)
		case o.man:
			text = manPage(version())
		}
		if _, err := io.WriteString(stdout, text); err != nil && !errors.Is(err, syscall.EPIPE) {
			stderr.error(err)
			return exitError
		}
		return exitOK
	}
	if err := checkFDLimit(); err != nil {
		stderr.error(err)
		return exitError
	}
	// Renderers may drop write errors; this one keeps the first, so that no
	// output is lost silently (`udsls > /dev/full`).
	out := &stickyWriter{w: stdout}
	e := &env{stdout: out, stream: out, stderr: stderr, color: wantColor(o.color, stdout), width: termWidth(stdout), quiet: o.quiet}
	if f, ok := stdout.(*os.File); ok && isTerminal(f) {
		e.term = f
	}
	if o.outputFile != "" {
		// Refused before any work: a run that would remove stale files
		// must not end unable to record it.
		if e.out, err = openOutputFile(ctx, o.outputFile); err != nil {
			stderr.error(err)
			return exitError
		}
		defer e.out.discard()
	}
	if o.verbose {
		o.verboseOut = stderr
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
	case modeWatch:
		code, err = runWatch(ctx, o, e)
	case modeTrace:
		code, err = runTrace(ctx, o, e)
	case modeDump:
		code, err = runDump(ctx, o, e)
	default:
		if o.metricsListen != "" {
			code, err = runMetrics(ctx, o, e)
		} else {
			code, err = runList(ctx, o, e)
		}
	}
	// A reader that went away is no failure (`udsls --serve | head -1`, where SIGPIPE is
	// ignored so that the server can clean up).
	if werr := out.stop(); err == nil && werr != nil && !errors.Is(werr, syscall.EPIPE) {
		code, err = exitError, werr
	}
	// A signal is how an exporter is told to stop: a clean end.
	if sig, ok := context.Cause(ctx).(interrupted); ok && o.metricsListen == "" {
		// Whatever the mode made of the cancellation, the run was cut
		// short: say so as a shell would for a command the signal killed.
		return 128 + int(sig.sig)
	}
	if err != nil {
		// A reader that went away (`udsls | head`) is not an error.
		if errors.Is(err, syscall.EPIPE) {
			return code
		}
		stderr.error(err)
		var h *hintedError
		switch {
		case errors.As(err, &h):
			stderr.hint(h.hint)
		case errors.Is(err, errUsage):
			stderr.hint("see 'udsls --help'")
		}
		return exitError
	}
	return code
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

func columnsEnv() (int, bool) {
	n, err := strconv.Atoi(os.Getenv("COLUMNS"))
	return n, err == nil && n > 0
}

// hintedError is an error with the next step for the user.
type hintedError struct {
	err  error
	hint string
}

func (h *hintedError) Error() string { return h.err.Error() }
func (h *hintedError) Unwrap() error { return h.err }

// stickyWriter remembers the first write error; every later write fails
// with it, so that output stops at the first lost byte. Once stopped it
// writes nothing more, whoever is still writing.
type stickyWriter struct {
	mu      sync.Mutex
	w       io.Writer
	err     error
	stopped bool
}

// errStopped is what a write gets once the run has ended (a goroutine still writing).
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
