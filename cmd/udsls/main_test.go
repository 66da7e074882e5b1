package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/udsls/udsls/platform/testserver"
)

// TestMain lets testscript run this binary as the "udsls" command, so the
// scripts exercise the real main: flags, streams and exit statuses.
func TestMain(m *testing.M) {
	testscript.Main(cleanup{m}, map[string]func(){
		"udsls": func() { os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// built is the udsls binary buildUdsls makes once per test binary: a link
// takes seconds under -race load and two dozen tests want one; TestMain
// removes its directory.
var built struct {
	once     sync.Once
	dir, bin string
	out      []byte
	err      error
}

// cleanup removes the binary buildUdsls shares between tests once they are
// done: testscript.Main exits without returning.
type cleanup struct{ m *testing.M }

func (c cleanup) Run() int {
	before := mainThread()
	code := c.m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	// A test that renames, demotes or moves the main thread (Go never ends
	// it, even when a goroutine exits locked to it) changes the process
	// for every later test: a hostile name there split every line ss
	// printed of this process's sockets, and TestOracle failed.
	if after := mainThread(); after != before && code == 0 {
		fmt.Fprintf(os.Stderr, "the main thread changed during the tests:\n  before %q\n  after  %q\n", before, after)
		code = 1
	}
	return code
}

// mainThread is what /proc says of the main thread: its name, ids and
// namespaces; "" where there is no /proc.
func mainThread() string {
	var b strings.Builder
	comm, _ := os.ReadFile("/proc/self/comm")
	b.Write(comm)
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.Lines(string(status)) {
			if strings.HasPrefix(line, "Uid:") || strings.HasPrefix(line, "Gid:") || strings.HasPrefix(line, "Groups:") {
				b.WriteString(line)
			}
		}
	}
	for _, ns := range []string{"net", "mnt", "user", "pid"} {
		link, _ := os.Readlink("/proc/self/ns/" + ns)
		b.WriteString(link + "\n")
	}
	return b.String()
}

func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") != "",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"fails": cmdFails,
			"serve": cmdServe,
		},
	})
}

// failedRun is all an error may print: one error line, then at most one
// hint.
var failedRun = regexp.MustCompile(`^udsls: error: [^\n]+\n(udsls: hint: [^\n]+\n)?$`)

// cmdFails runs a program as exec does and requires the error contract:
// exit status 2, nothing on stdout, one "udsls: error:" line and at most
// one "udsls: hint:" line on stderr. "! exec" would take any failure.
//
//	fails udsls --timeout soon --check x.sock
func cmdFails(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: fails PROGRAM [ARGS...]")
	}
	err := ts.Exec(args[0], args[1:]...)
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == exitError:
	case errors.As(err, &ee):
		ts.Fatalf("exit status %d, want %d", ee.ExitCode(), exitError)
	case err != nil:
		ts.Fatalf("%v", err)
	default:
		ts.Fatalf("exit status 0, want %d", exitError)
	}
	if out := ts.ReadFile("stdout"); out != "" {
		ts.Fatalf("stdout not empty")
	}
	if !failedRun.MatchString(ts.ReadFile("stderr")) {
		ts.Fatalf("stderr is not one error line and at most one hint")
	}
}

// cmdServe opens the test server's sockets in DIR until the script ends.
//
//	serve run
func cmdServe(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: serve DIR")
	}
	srv, err := testserver.Start(testserver.Config{Dir: ts.MkAbs(args[0])})
	if err != nil {
		ts.Fatalf("serve: %v", err)
	}
	ts.Defer(func() { srv.Close() })
}
