package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform/testserver"
)

const (
	// Above maxTableSets sets the table shows only the first shownSets and
	// a summary; -o json always lists everything.
	maxTableSets = 20
	shownSets    = 3
)

// runServe opens the test server's sockets, prints their manifest as the
// readiness signal, and serves until cancelled or --for has passed.
func runServe(ctx context.Context, o *options, e *env) (int, error) {
	if len(o.args) > 1 {
		return exitError, usagef("--serve takes at most one directory, got %d arguments", len(o.args))
	}
	if o.count < 0 {
		return exitError, usagef("--count must not be negative, got %d", o.count)
	}
	if o.serveFor < 0 {
		return exitError, usagef("--for must not be negative, got %v", o.serveFor)
	}
	cfg := testserver.Config{Count: o.count}
	if len(o.args) == 1 {
		if o.args[0] == "" {
			return exitError, usagef("--serve directory must not be empty")
		}
		cfg.Dir = o.args[0]
	}
	srv, err := testserver.Start(cfg)
	if err != nil {
		return exitError, serveError(err)
	}
	// A reader that goes away (`udsls --serve | head -1`) must not kill udsls before it
	// removes what it made: the write fails with EPIPE instead, and serving ends.
	signal.Ignore(syscall.SIGPIPE)
	if err := printManifest(e.stdout, o, srv.Manifest()); err != nil {
		if cerr := srv.Close(); cerr != nil {
			return exitError, cerr
		}
		if errors.Is(err, syscall.EPIPE) {
			return exitOK, nil
		}
		return exitError, err
	}

	var stop <-chan time.Time
	if o.serveFor > 0 {
		t := time.NewTimer(o.serveFor)
		defer t.Stop()
		stop = t.C
	}
	select {
	case <-ctx.Done():
	case <-stop:
	case <-readerGone(e.stream.w):
	}
	// Removing thousands of sockets may take longer than a signalled run
	// is given; a forced exit waits for it.
	critical.Lock()
	defer critical.Unlock()
	if err := srv.Close(); err != nil {
		return exitError, err
	}
	return exitOK, nil
}

// serveError names the file in the way of a bind and how to find out whether it is stale.
func serveError(err error) error {
	var op *net.OpError
	if !errors.Is(err, syscall.EADDRINUSE) || !errors.As(err, &op) || op.Addr == nil {
		return err
	}
	file := op.Addr.String()
	return &hintedError{
		fmt.Errorf("cannot serve: %s is in the way (address already in use)", file),
		"'udsls --stale " + filepath.Dir(file) + "' tells whether it is a stale socket file, and --remove removes it",
	}
}

func printManifest(w io.Writer, o *options, m testserver.Manifest) error {
	var err error
	if o.output == "json" {
		err = render.EncodeJSON(w, m, false, false)
	} else {
		err = writeManifestTable(w, m, o)
	}
	if err != nil {
		return err
	}
	// Scripts wait for the manifest before they start probing.
	if f, ok := w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

func writeManifestTable(w io.Writer, m testserver.Manifest, o *options) error {
	until := "until interrupted"
	if o.serveFor > 0 {
		until = "for " + o.serveFor.String()
	}
	if _, err := fmt.Fprintf(w, "serving %d sockets from pid %d in %s %s\n",
		len(m.Sockets), m.PID, render.Escape(m.Dir), until); err != nil {
		return err
	}
	sets := 0
	t := render.NewTable(w, []string{"ROLE", "TYPE", "STATE", "INODE", "FD", "PEER", "QUEUED", "PATH"}, false)
	for _, s := range m.Sockets {
		if s.Role == testserver.RoleSetListener {
			sets++
		}
		if o.count > maxTableSets && sets > shownSets {
			break
		}
		path := render.Escape(s.Path)
		if path == "" {
			path = "(unnamed)"
		}
		state, inode, fd, peer := "-", "-", "-", "-"
		if s.State != 0 {
			state = s.State.String()
		}
		if s.Inode != 0 {
			inode = strconv.FormatUint(s.Inode, 10)
		}
		if s.PID != 0 {
			fd = strconv.Itoa(s.FD)
		}
		if s.PeerInode != 0 {
			peer = strconv.FormatUint(s.PeerInode, 10)
		}
		if err := t.Append([]string{string(s.Role), s.Type.String(), state, inode, fd, peer, strconv.Itoa(s.Queued), path}); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	if o.count > maxTableSets {
		_, err := fmt.Fprintf(w, "... and %d more sets of listener, accepted and client (-o json lists them all)\n", o.count-shownSets)
		return err
	}
	return nil
}
