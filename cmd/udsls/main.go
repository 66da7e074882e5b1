// Command udsls shows everything about the Unix domain sockets on a machine.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// runMain is run with SIGINT, SIGTERM and SIGHUP turned into a cancelled context
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
	// SIGHUP too: a closed terminal or a kill -HUP must not leave --watch's
	// terminal raw in its alternate screen, nor --serve's sockets behind;
	// but under nohup it stays ignored, which Notify would undo. (SIGINT is
	// caught even when ignored, as in a script's background job: scripts
	// stop udsls with kill -INT.)
	if !signal.Ignored(syscall.SIGHUP) {
		signal.Notify(sigs, syscall.SIGHUP)
	}
	defer signal.Stop(sigs)
	go func() {
		s, ok := (<-sigs).(syscall.Signal)
		if !ok {
			return
		}
		cancel(interrupted{s})
		// Every mode stops on its own well within this; what does not (a
		// read blocked on a FIFO, a hung network file system) is not
		// waited for, except a removal or a rename under way.
		time.Sleep(forceExitAfter)
		critical.Lock()
		removeTemp()
		os.Exit(128 + int(s))
	}()
	return run(ctx, args, stdout, stderr)
}

// forceExitAfter is how long a signalled run may take to stop by itself.
const forceExitAfter = time.Second

// critical is held while udsls does what a forced exit must not cut in
// half: the removals of --stale --remove and their report, --serve's
// removal of its sockets. It is not reentrant: nothing that holds it
// takes it again.
var critical sync.Mutex

// interrupted is the cause of a context cancelled by a signal.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return "interrupted by " + signalName(i.sig) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}
