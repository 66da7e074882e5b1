// Command udsls shows everything about the Unix domain sockets on a machine.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// runMain is run with SIGINT and SIGTERM turned into a cancelled context
// whose cause names the signal, so that every mode stops the same way and
// run can end with 128+signal, as a shell reports a command killed by it.
// SIGPIPE is left alone on purpose: `udsls | head` then ends quietly, as
// C tools do.
func runMain(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	// Later signals stay caught, so that a second Ctrl-C cannot cut short
	// the cleanup the first one started (a temporary file, a removal).
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if s, ok := (<-sigs).(syscall.Signal); ok {
			cancel(interrupted{s})
		}
	}()
	return run(ctx, args, stdout, stderr)
}

// interrupted is the cause of a context cancelled by a signal.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return "interrupted by " + signalName(i.sig) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}
