package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"unicode/utf8"

	"github.com/mattn/go-isatty"
)

// env is what every mode gets from run: the output streams and the
// decisions taken once for the whole invocation.
type env struct {
	stdout, stderr io.Writer
	color          bool // stdout is a terminal that wants colour
	stderrTTY      bool // progress lines may be drawn on stderr
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
	e := &env{stdout: stdout, stderr: stderr, color: wantColor(o.color, stdout), stderrTTY: isTerminal(stderr)}
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
	default:
		code, err = runList(ctx, o, e)
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
