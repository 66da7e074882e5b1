//go:build linux

package main

import (
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/linux/bpf"
	"github.com/udsls/udsls/platform/testenv"
)

// needBPF skips (or fails, under UDSLS_REQUIRE_BPF=1) unless the fd
// iterator loads here.
func needBPF(t *testing.T) {
	t.Helper()
	testutil.NeedBPF(t, "the fd iterator", bpf.OpenFDIter)
}

// TestFDSourceBPFLeavesNothingLoaded interrupts `udsls --fd-source bpf`
// at moments spread over its run, SIGINT and SIGKILL, and then finds none
// of its programs or links in the kernel (bpftool).
func TestFDSourceBPFLeavesNothingLoaded(t *testing.T) {
	needBPF(t)
	bin := buildUdsls(t)
	startServe(t, bin, t.TempDir(), 3000)
	before := testutil.LoadedBPF(t, testutil.Ours)
	var interrupted int
	for i := range 16 {
		cmd := exec.Command(bin, "-a", "-o", "json", "--fd-source", "bpf")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i*5) * time.Millisecond)
		sig := syscall.SIGINT
		if i%4 == 3 {
			sig = syscall.SIGKILL
		}
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			interrupted++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if interrupted == 0 {
		t.Errorf("no run was interrupted")
	}
	testutil.NoBPFLeft(t, testutil.Ours, before)
}

// TestFDSourceBPFUnprivileged: a forced BPF source that may not load is
// one error line and exit 2, not a silent walk of /proc; auto walks /proc.
func TestFDSourceBPFUnprivileged(t *testing.T) {
	testenv.NeedRoot(t, "setpriv to nobody")
	bin := buildUdsls(t)
	code, stdout, stderr := asNobody(t, bin, "--fd-source", "bpf")
	if code != exitError || stdout != "" || strings.Count(stderr, "\n") != 1 ||
		!strings.HasPrefix(stderr, "udsls: error: --fd-source bpf: ") || !strings.Contains(stderr, "CAP_BPF") {
		t.Errorf("as nobody, --fd-source bpf: exit %d, stdout %q, stderr %q; want exit 2 and one error naming CAP_BPF", code, stdout, stderr)
	}
	code, _, stderr = asNobody(t, bin, "-a", "-v", "-o", "json")
	if code != exitOK || !strings.Contains(stderr, "holders from procfs") {
		t.Errorf("as nobody, auto: exit %d, stderr %q; want exit 0 and holders from procfs", code, stderr)
	}
}

// TestFDSourceVerbose: --verbose names the fd source the listing used.
func TestFDSourceVerbose(t *testing.T) {
	needBPF(t)
	bin := buildUdsls(t)
	for _, src := range []string{"bpf", "procfs"} {
		code, _, stderr := runCmd(t, exec.Command(bin, "-a", "-v", "-o", "json", "--fd-source", src))
		if code != exitOK || !strings.Contains(stderr, "holders from "+src+",") {
			t.Errorf("--fd-source %s -v: exit %d, stderr %q", src, code, stderr)
		}
	}
}

// TestFDSourceBPFUserNamespace: root of a user namespace of its own has
// every capability there but cannot load BPF; forcing it says why.
func TestFDSourceBPFUserNamespace(t *testing.T) {
	testenv.NeedRoot(t, "unshare --user")
	unshare := testenv.NeedTool(t, "unshare", "util-linux")
	bin := buildUdsls(t)
	code, stdout, stderr := runCmd(t, exec.Command(unshare, "--user", "--map-root-user", bin, "--fd-source", "bpf"))
	if code != exitError || stdout != "" || stderr != "udsls: error: --fd-source bpf: BPF unavailable: udsls runs in a user namespace of its own, whose capabilities do not let it load BPF\n" {
		t.Errorf("in a user namespace, --fd-source bpf: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
