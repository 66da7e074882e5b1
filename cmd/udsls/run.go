package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"

	"github.com/mattn/go-isatty"
)

// env is what every mode gets from run: the output streams and the
// decisions taken once for the whole invocation.
type env struct {
	stdout io.Writer
	stderr *stderr // every line escaped; see stderr.go
	color  bool    // stdout is a terminal that wants colour
	width  int     // columns of the terminal on stdout; 0 when not a terminal
	quiet  bool    // -q: no warnings, notes or hints
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
	if o.help {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	if o.version {
		fmt.Fprintf(stdout, "udsls %s\n", version())
		return exitOK
	}
	if err := checkFDLimit(); err != nil {
		stderr.error(err)
		return exitError
	}
	e := &env{stdout: stdout, stderr: stderr, color: wantColor(o.color, stdout), width: termWidth(stdout), quiet: o.quiet}

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
