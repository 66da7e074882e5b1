package darwin

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/udsls/udsls/platform/testenv"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/capture"
	"github.com/udsls/udsls/platform/testserver"
)

// TestLiveCaptureProcnetLsof saves what a user would send, a copy of
// /proc/net/unix and the backend's lsof command's output, while the test
// server holds sockets, and reads them back with --from: every socket the
// server holds at an fd must come back with that holder, type and name.
func TestLiveCaptureProcnetLsof(t *testing.T) {
	testenv.NeedTool(t, "lsof", "lsof")
	srv, err := testserver.Start(testserver.Config{Dir: t.TempDir(), Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	procnet, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		t.Fatal(err)
	}
	pid := os.Getpid()
	lsof, err := exec.Command("lsof", lsofArgs("-a", "-p", strconv.Itoa(pid))...).Output()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"procnet": procnet, "lsof": lsof} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	src, err := capture.New([]string{"procnet:" + filepath.Join(dir, "procnet"), "lsof:" + filepath.Join(dir, "lsof")})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	byID := map[inspect.SocketID]inspect.Socket{}
	for _, s := range snap.Sockets {
		byID[s.ID] = s
	}
	owners := map[inspect.Owner]bool{}
	for _, o := range snap.Owners {
		owners[o] = true
	}
	n := 0
	for _, m := range srv.Manifest().Sockets {
		if m.FD == 0 {
			continue
		}
		n++
		id := inspect.SocketID(m.Inode)
		if !owners[inspect.Owner{ID: id, PID: pid, FD: m.FD}] {
			t.Errorf("%s: no owner (pid %d, fd %d) for inode %d", m.Role, pid, m.FD, m.Inode)
		}
		if s := byID[id]; s.Type != m.Type || s.State != m.State || s.Path != m.Path {
			t.Errorf("%s: socket %+v, the server made %+v", m.Role, s, m)
		}
	}
	if n < 10 || snap.Processes[pid].PID != pid {
		t.Errorf("checked %d sockets; process %+v", n, snap.Processes[pid])
	}
}
