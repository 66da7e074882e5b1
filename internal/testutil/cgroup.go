package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/udsls/udsls/platform/testenv"
)

// FakeDockerCgroup moves pid into a new cgroup v2 named as docker's
// cgroupfs driver names a container's, .../docker/<64 hex>, and returns the
// id. The cgroups hang under a directory of this test process's own, so
// that tests running at the same time do not share (and fight over
// removing) a parent; they are removed when the test ends.
func FakeDockerCgroup(t *testing.T, pid int) string {
	t.Helper()
	mnt := cgroup2Mount(t)
	id := strings.Repeat(fmt.Sprintf("%08x", pid), 8)
	top := filepath.Join(mnt, "udsls-test-"+strconv.Itoa(os.Getpid()))
	cg := filepath.Join(top, "docker", id)
	if err := os.MkdirAll(cg, 0o755); err != nil {
		testenv.Skipf(t, testenv.Root, "cgroup v2 at %s is not writable: %v", mnt, err)
	}
	t.Cleanup(func() {
		// A cgroup with members cannot be removed: back to the root first.
		os.WriteFile(filepath.Join(mnt, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
		for _, d := range []string{cg, filepath.Dir(cg), top} {
			if err := os.Remove(d); err != nil {
				t.Errorf("removing the test cgroup: %v", err)
			}
		}
	})
	if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		testenv.Skipf(t, testenv.Root, "cannot move a process into a new cgroup v2: %v", err)
	}
	return id
}

// cgroup2Mount finds where cgroup v2 is mounted: /sys/fs/cgroup on a
// unified system, /sys/fs/cgroup/unified on a hybrid one.
func cgroup2Mount(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		// proc(5): ... mount-point ... - fstype source options
		pre, post, ok := strings.Cut(line, " - ")
		if f := strings.Fields(pre); ok && len(f) > 4 && strings.HasPrefix(post, "cgroup2 ") {
			return f[4]
		}
	}
	testenv.Skipf(t, testenv.Root, "cgroup v2 is not mounted: no cgroup to put a fake container in")
	return ""
}
