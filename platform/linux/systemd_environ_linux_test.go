package linux

import (
	"os/exec"
	"strconv"
	"testing"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"
)

// TestServiceEnvironCut: a real process whose LISTEN_FDNAMES straddles the
// bound of what is read of its environment. "api:metrics" cut to "api:met"
// still counts two names, and fd 4 was shown as "met", a name the process
// was never given; a variable the bound cuts is not read at all.
func TestServiceEnvironCut(t *testing.T) {
	py := testenv.NeedTool(t, "python3", "python3")
	// The process execs itself with the variables in this order, padded
	// so that "LISTEN_FDNAMES=api:met" ends at the offset argv[1] gives.
	const script = `import os, sys
bound = int(sys.argv[1])
env = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "2"}
used = sum(len(k) + len(v) + 2 for k, v in env.items())
want = bound - len("LISTEN_FDNAMES=api:met")
# A string of the environment is at most 128 KiB (MAX_ARG_STRLEN):
# PADnn=xxx..., 7 bytes and its value each.
pad = want - used
count = pad // 100007 + 1
for i in range(count):
    n = (pad - 7 * count) // count + (1 if i < (pad - 7 * count) % count else 0)
    env["PAD%02d" % i] = "x" * n
    used += 7 + n
assert used == want, (used, want)
env["LISTEN_FDNAMES"] = "api:metrics"
os.execve(sys.executable, [sys.executable, "-c", "import sys; print('up', flush=True); sys.stdin.read()"], env)
`
	cmd := exec.Command(py, "-c", script, strconv.Itoa(maxEnviron))
	line, _, err := testutil.StartChild(t, cmd)
	if err != nil || line != "up\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	sv := (&Source{}).Service(cmd.Process.Pid)
	if sv != nil && sv.FDNames != nil {
		t.Errorf("fd names %v from a LISTEN_FDNAMES cut at %d bytes, want none", sv.FDNames, maxEnviron)
	}

	// The same variables ending on the bound, NUL included, are read.
	cmd = exec.Command(py, "-c", script, strconv.Itoa(maxEnviron-len("rics")-1))
	if line, _, err := testutil.StartChild(t, cmd); err != nil || line != "up\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	sv = (&Source{}).Service(cmd.Process.Pid)
	if sv == nil || len(sv.FDNames) != 2 || sv.FDNames[3] != "api" || sv.FDNames[4] != "metrics" {
		t.Errorf("service %+v, want fd names api and metrics from variables that end on the bound", sv)
	}
}
