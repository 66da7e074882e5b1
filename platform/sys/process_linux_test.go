package sys

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"

	"github.com/shirou/gopsutil/v4/process"
)

// TestLiveProcessMatchesGopsutil: the one-read lookup gives every process
// the command and uid gopsutil gave, hostile and cut names included.
func TestLiveProcessMatchesGopsutil(t *testing.T) {
	for _, c := range []struct{ comm, argv0 string }{
		{"a\nb\\c", "bash"},
		{"tab\tname ", "bash"},
		{`back\nslash`, "bash"},
		{"sleep-with-a-long-name", "/nowhere/sleep-with-a-long-name"}, // cut, then made whole from argv[0]
		{"other-long-name-x", "/nowhere/unrelated"},                   // cut, argv[0] does not extend it
	} {
		// Only a process itself may write its comm; bash's builtin printf
		// does, then waits on a child (not exec'd: a command follows) while
		// the test reads it.
		cmd := exec.Command("bash", "-c", `printf %s "$1" >/proc/$$/comm && echo ok && sleep 30; exit`, "-", c.comm)
		cmd.Args[0] = c.argv0
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if _, err := out.Read(make([]byte, 3)); err != nil {
			t.Fatalf("comm %q not set: %v", c.comm, err)
		}
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		name, uids, err1 := gopsutilName(pid)
		got, err := Process(context.Background(), "", pid)
		// A process of the machine may exec, exit or change its uid
		// meanwhile (another package's test runs setpriv, which switches
		// to nobody before it execs).
		name2, uids2, err2 := gopsutilName(pid)
		if err1 != nil || err2 != nil || err != nil || name != name2 || !slices.Equal(uids, uids2) {
			continue
		}
		want := uids[0]
		if len(uids) > 1 {
			want = uids[1]
		}
		if got.Command != name || got.UID != want || got.PID != pid {
			t.Errorf("pid %d: got %q uid %d, gopsutil %q uid %d", pid, got.Command, got.UID, name, want)
		}
		compared++
	}
	if compared < 6 {
		t.Fatalf("compared only %d processes", compared)
	}
	if _, err := Process(context.Background(), "", 1<<30); err == nil {
		t.Error("no error for a pid that is no process")
	}
}

func gopsutilName(pid int) (string, []uint32, error) {
	p := &process.Process{Pid: int32(pid)}
	name, err := p.Name()
	if err != nil {
		return "", nil, err
	}
	uids, err := p.Uids()
	if err != nil || len(uids) == 0 {
		return "", nil, errors.New("no uids")
	}
	return name, uids, nil
}
