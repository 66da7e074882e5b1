package platform_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform"
	"github.com/udsls/udsls/platform/sys"
)

// Example lists the Unix sockets under a directory with their holders, as a Go program
// would: a live source gives a snapshot, and a resolver joins it with processes and files.
func Example() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	l, err := net.Listen("unix", filepath.Join(dir, "app.sock")) // something to find
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	ctx := context.Background()
	src, err := platform.Default(platform.Options{})
	if err != nil {
		log.Fatal(err)
	}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		log.Fatal(err)
	}
	q := inspect.Query{Patterns: []string{filepath.Join(dir, "*")}}
	for _, e := range sys.NewResolver("/proc").Entries(ctx, snap, q) {
		h := e.Holders[0]
		fmt.Println(filepath.Base(e.Path), e.Type, e.State, e.FileStatus, h.PID == os.Getpid(), h.FD > 2)
	}
	// Output: app.sock stream listening ok true true
}

// Example_json prints the same listing in udsls's JSON contract (README, "JSON output").
func Example_json() {
	ctx := context.Background()
	src, err := platform.Default(platform.Options{})
	if err != nil {
		log.Fatal(err)
	}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		log.Fatal(err)
	}
	entries := sys.NewResolver("/proc").Entries(ctx, snap, inspect.Query{View: inspect.ViewListening})
	if err := render.WriteJSON(os.Stdout, entries, snap.Warnings); err != nil {
		log.Fatal(err)
	}
}
