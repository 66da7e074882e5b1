// Command udsls shows everything about the Unix domain sockets on a machine.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// SIGPIPE is left alone on purpose: `udsls | head` then ends quietly, as
	// C tools do. Only SIGINT and SIGTERM cancel the context.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
