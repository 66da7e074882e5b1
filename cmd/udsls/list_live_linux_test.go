package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform/testenv"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/testserver"
)

// TestLiveListingMatchesServer lists every socket of a live test server,
// through each Linux source, and requires each one with its exact path,
// type, state, holder pid and fd, peer, queues and socket file.
func TestLiveListingMatchesServer(t *testing.T) {
	srv, err := testserver.Start(testserver.Config{Dir: t.TempDir(), Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	m := srv.Manifest()

	for _, source := range []string{"netlink", "procfs"} {
		t.Run(source, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(context.Background(), []string{"-a", "-o", "json", "--source", source}, &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			var doc render.ListingJSON
			if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			byInode := map[inspect.SocketID]render.SocketJSON{}
			for _, s := range doc.Sockets {
				byInode[s.Inode] = s
			}
			for _, want := range m.Sockets {
				if want.Role == testserver.RoleStale || want.Role == testserver.RolePending {
					continue // no socket (stale), or an embryo whose listener counts it (pending)
				}
				got, ok := byInode[inspect.SocketID(want.Inode)]
				if !ok {
					t.Errorf("%s %q (inode %d) not listed", want.Role, want.Path, want.Inode)
					continue
				}
				if got.Path != want.Path || got.Abstract != want.Abstract || got.Type != want.Type || got.State != want.State {
					t.Errorf("%s: got %q abstract=%v %v %v, want %q abstract=%v %v %v", want.Role,
						got.Path, got.Abstract, got.Type, got.State, want.Path, want.Abstract, want.Type, want.State)
				}
				if len(got.Processes) != 1 || got.Processes[0].PID != m.PID || got.Processes[0].FD != want.FD ||
					got.Processes[0].UID == nil || *got.Processes[0].UID != uint32(os.Geteuid()) {
					t.Errorf("%s: processes %+v, want pid %d fd %d", want.Role, got.Processes, m.PID, want.FD)
				}
				if !want.Abstract && want.Path != "" {
					checkFile(t, string(want.Role), want.Path, got)
				}
				if source == "procfs" {
					if got.Peer != nil || got.RecvQueue != nil || got.Pending != nil {
						t.Errorf("%s: procfs cannot know peers or queues, got %+v", want.Role, got)
					}
					continue
				}
				if uint64(got.PeerInode) != want.PeerInode {
					t.Errorf("%s: peer %d, want %d", want.Role, got.PeerInode, want.PeerInode)
				}
				queued := got.RecvQueue
				if want.State == inspect.StateListening {
					queued = got.Pending
				}
				// The echo sockets drain their queues; the others hold still.
				if want.Role != testserver.RoleEchoStream && want.Role != testserver.RoleEchoDgram && want.Role != testserver.RoleSeqpacket &&
					want.Role != testserver.RoleAccepted && (queued == nil || int(*queued) != want.Queued) {
					t.Errorf("%s: queued %v, want %d", want.Role, queued, want.Queued)
				}
			}
		})
	}
}

func checkFile(t *testing.T, role, path string, got render.SocketJSON) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	mode := "0" + strconv.FormatUint(uint64(st.Mode&0o7777), 8)
	if got.File == nil || got.File.Mode != mode || got.File.UID != st.Uid || got.File.GID != st.Gid {
		t.Errorf("%s: file %+v, want mode %s uid %d gid %d", role, got.File, mode, st.Uid, st.Gid)
	}
	if got.FileStatus == nil || *got.FileStatus != inspect.FileOK {
		t.Errorf("%s: file_status %v, want ok", role, got.FileStatus)
	}
}

// TestLiveListingAgreesWithSS cross-checks the whole machine's socket set
// with ss, the kernel's own tool, taken just before and after ours: every
// socket both of ss's views agree on must be in ours.
func TestLiveListingAgreesWithSS(t *testing.T) {
	testenv.NeedTool(t, "ss", "iproute2")
	srv, err := testserver.Start(testserver.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	before := ssInodes(t)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-a", "-o", "json"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	after := ssInodes(t)
	var doc render.ListingJSON
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	ours := map[uint64]bool{}
	for _, s := range doc.Sockets {
		ours[uint64(s.Inode)] = true
	}
	checked := 0
	for ino := range before {
		if after[ino] {
			checked++
			if !ours[ino] {
				t.Errorf("ss lists inode %d before and after, udsls does not", ino)
			}
		}
	}
	for _, s := range srv.Manifest().Sockets {
		if s.Inode != 0 && s.Role != testserver.RolePending && !before[s.Inode] {
			t.Errorf("ss does not list the server's %s socket %d: the cross-check is blind", s.Role, s.Inode)
		}
	}
	t.Logf("%d sockets cross-checked against ss", checked)
}

// ssInodes reads the local inode of every socket from `ss -xaH`. ss prints
// names raw, so a name with a newline spills onto the next line; only lines
// that end like a record are read: "... LOCAL_INODE PEER_ADDR PEER_INODE".
func ssInodes(t *testing.T) map[uint64]bool {
	t.Helper()
	out, err := exec.Command("ss", "-xaH").Output()
	if err != nil {
		t.Fatal(err)
	}
	set := map[uint64]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		if _, err := strconv.ParseUint(f[len(f)-1], 10, 64); err != nil {
			continue // the first half of a record split by a newline in its name
		}
		if ino, err := strconv.ParseUint(f[len(f)-3], 10, 64); err == nil && ino != 0 {
			set[ino] = true
		}
	}
	return set
}
