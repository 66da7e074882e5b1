//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform/testenv"
)

// sleepAsNobody starts a process of nobody (uid and gid 65534) in the
// network namespace of the calling thread, ended when the test ends. It
// may run on a goroutine other than the test's, so it does not fail the
// test itself. The credentials are set by the forked child before exec,
// and Start returns only after exec: the process is nobody's from the
// first moment the audit can see it (setpriv left a window where it was
// still root's, and the audit, rightly, found nothing).
func sleepAsNobody(t *testing.T) error {
	cmd := exec.Command("sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	if err := cmd.Start(); err != nil {
		return err
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return nil
}

// listenAbstract makes a root listener on an abstract name in the network
// namespace of the calling thread, closed when the test ends; like
// sleepAsNobody, it returns its error.
func listenAbstract(t *testing.T, name string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: name}); err != nil {
		return err
	}
	return unix.Listen(fd, 8)
}

func decodeAudit(t *testing.T, out []byte) render.AuditJSON {
	t.Helper()
	var doc render.AuditJSON
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	return doc
}

// TestAuditAbstractHostNetns: a root process listens on an abstract name
// in the host's network namespace, which a process of nobody shares:
// nobody may connect, since abstract names have no permission check, and
// the audit says so (high), naming the namespace and nobody's process.
func TestAuditAbstractHostNetns(t *testing.T) {
	testenv.NeedRoot(t, "the finding is about a root process's socket that nobody reaches")
	name := "@udsls-test-abstract-" + strconv.Itoa(os.Getpid())
	if err := listenAbstract(t, name); err != nil {
		t.Fatal(err)
	}
	if err := sleepAsNobody(t); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--audit", "-o", "json", name}, &stdout, &stderr)
	if code != exitNo {
		t.Fatalf("exit %d, want 1 (a high finding); stderr %q\n%s", code, stderr.String(), stdout.String())
	}
	doc := decodeAudit(t, stdout.Bytes())
	if len(doc.Findings) != 1 {
		t.Fatalf("want one finding:\n%s", stdout.String())
	}
	f := doc.Findings[0]
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if f.Rule != inspect.RuleAbstractReachable || f.Severity != inspect.SeverityHigh || f.Path != name ||
		f.Netns == nil || "net:["+strconv.FormatUint(*f.Netns, 10)+"]" != self || f.NetnsProcesses == nil || *f.NetnsProcesses < 2 {
		t.Errorf("finding %+v, want %s high for %s in %s", f, inspect.RuleAbstractReachable, name, self)
	}
	if len(f.Holders) != 1 || f.Holders[0].PID != os.Getpid() {
		t.Errorf("holders %+v, want this process", f.Holders)
	}
	found := false
	for _, s := range f.SharedWith {
		found = found || s.UID == 65534 && s.Processes >= 1 && s.Container == nil
		// Root reaches everything anyway, unless a container holds it.
		if s.UID == 0 && s.Container == nil {
			t.Errorf("root counted among the others: %+v", s)
		}
	}
	if !found {
		t.Errorf("nobody's process not among those sharing the namespace: %+v", f.SharedWith)
	}
}

// TestAuditAbstractPrivateNetns runs the audit in a network namespace of
// its own (unshare(CLONE_NEWNET) on a locked thread, whose children are
// born in it) holding a root abstract listener: with no one else there it
// is no finding, though nobody runs in the host's namespace; with a
// process of nobody inside it is, and the finding counts exactly the
// namespace's two processes (the audit itself and nobody's), and this one
// when the thread in the namespace is its main thread.
func TestAuditAbstractPrivateNetns(t *testing.T) {
	testenv.NeedRoot(t, "a network namespace of its own and a process of nobody")
	bin := buildUdsls(t)
	// In the host's namespace: not a sharer.
	if err := sleepAsNobody(t); err != nil {
		t.Fatal(err)
	}
	name := "@udsls-test-private-" + strconv.Itoa(os.Getpid())

	type result struct {
		code           int
		stdout, stderr string
		// mainIn: the locked thread is this process's main thread, so
		// that /proc/PID/ns/net counts this process in the namespace.
		mainIn bool
	}
	audit := func(withNobody bool) result {
		ch := make(chan result, 1)
		go func() {
			// The thread goes back to its namespace before it is
			// unlocked. Left locked, a goroutine's thread ends with it,
			// except the main thread, which Go keeps: /proc/self/ns/net,
			// the main thread's, would then name the private namespace
			// to every later test in this process.
			runtime.LockOSThread()
			orig, err := os.Open("/proc/thread-self/ns/net")
			if err != nil {
				ch <- result{code: -1, stderr: err.Error()}
				return
			}
			defer func() {
				if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
					runtime.UnlockOSThread()
				}
				orig.Close()
			}()
			err = unix.Unshare(unix.CLONE_NEWNET)
			if err == nil {
				err = listenAbstract(t, name)
			}
			if err == nil && withNobody {
				err = sleepAsNobody(t)
			}
			if err != nil {
				ch <- result{code: -1, stderr: err.Error()}
				return
			}
			self, _ := os.Readlink("/proc/self/ns/net")
			thread, _ := os.Readlink("/proc/thread-self/ns/net")
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, "--audit", "-o", "json", name)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); cmd.ProcessState == nil {
				ch <- result{code: -1, stderr: err.Error()}
				return
			}
			ch <- result{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String(), self == thread}
		}()
		return <-ch
	}

	r := audit(false)
	if r.code != exitOK {
		t.Fatalf("alone: exit %d, stderr %q\n%s", r.code, r.stderr, r.stdout)
	}
	if doc := decodeAudit(t, []byte(r.stdout)); len(doc.Findings) != 0 {
		t.Errorf("alone in its namespace, findings:\n%s", r.stdout)
	}

	r = audit(true)
	if r.code != exitNo {
		t.Fatalf("with nobody: exit %d, stderr %q\n%s", r.code, r.stderr, r.stdout)
	}
	doc := decodeAudit(t, []byte(r.stdout))
	if len(doc.Findings) != 1 {
		t.Fatalf("with nobody: want one finding:\n%s", r.stdout)
	}
	f := doc.Findings[0]
	want := []render.NetnsShareJSON{{UID: 65534, User: "nobody", Processes: 1}}
	procs := 2
	if r.mainIn {
		procs++
	}
	if diff := cmp.Diff(want, f.SharedWith); diff != "" || f.Severity != inspect.SeverityHigh || f.NetnsProcesses == nil || *f.NetnsProcesses != procs {
		t.Errorf("finding %+v, want %d processes; shared_with (-want +got):\n%s", f, procs, diff)
	}
}
