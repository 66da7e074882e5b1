package inspect

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"
	"golang.org/x/sys/unix"
)

const nobody = 65534

// systemPath is where an unprivileged account finds python3: the test's
// own PATH may start with directories only root can enter.
const systemPath = "PATH=/usr/local/bin:/usr/bin:/bin"

func TestAuditLive(t *testing.T) {
	requireAuditTools(t, "setpriv", "python3")
	b := auditBase(t)
	p := func(name string) string { return filepath.Join(b, name) }
	mkdir(t, p("root"), 0o755, 0, 0)
	mkdir(t, p("root2"), 0o755, 0, 0)
	mkdir(t, p("nobody"), 0o755, nobody, nobody)
	mkdir(t, p("sticky"), fs.ModeSticky|0o777, 0, 0)
	mkdir(t, p("open"), 0o777, 0, 0)
	mkdir(t, p("private"), 0o700, 0, 0)
	symlink(t, "root2", p("link"))
	symlink(t, "private", p("privlink"))

	var l liveSockets
	for _, s := range []struct {
		path string
		mode fs.FileMode
	}{
		{"root/r666.sock", 0o666},
		{"root/r660.sock", 0o660},
		{"root/r600.sock", 0o600},
		{"root/gone.sock", 0o600},
		{"root/repl-other.sock", 0o600},
		{"root/repl-root.sock", 0o600},
		// Held by root in a directory another user owns.
		{"nobody/root.sock", 0o600},
		{"sticky/s600.sock", 0o600},
		{"open/o600.sock", 0o600},
		{"private/p666.sock", 0o666},
		// Bound through a symlinked parent.
		{"link/l666.sock", 0o666},
		{"privlink/pl666.sock", 0o666},
	} {
		l.rootListen(t, p(s.path), s.mode)
	}
	// A datagram server anyone may reach, and a client bound next to it,
	// which takes datagrams from its peer only.
	srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p("root/dgram666.sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cli, err := net.DialUnix("unixgram", &net.UnixAddr{Name: p("root/client666.sock"), Net: "unixgram"}, &net.UnixAddr{Name: p("root/dgram666.sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	for _, name := range []string{"root/dgram666.sock", "root/client666.sock"} {
		if err := os.Chmod(p(name), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	srvID := l.addSocket(t, Socket{Path: p("root/dgram666.sock"), Type: TypeDgram, State: StateUnconnected, Known: KnownPeer}, os.Getpid())
	l.addSocket(t, Socket{Path: p("root/client666.sock"), Type: TypeDgram, State: StateConnected, Known: KnownPeer, Peer: srvID}, os.Getpid())

	l.nobodyListen(t, map[string]fs.FileMode{
		p("nobody/n666.sock"): 0o666,
		p("nobody/n660.sock"): 0o660,
		p("nobody/n600.sock"): 0o600,
	})
	staleFile(t, p("sticky/stale.sock"))
	staleFile(t, p("open/stale.sock"))
	// A stale file in a directory only root may write is no finding.
	staleFile(t, p("root/stale.sock"))

	// The listeners' files change after the snapshot saw them bound.
	snap := l.snapshot(t)
	rm(t, p("root/gone.sock"))
	rm(t, p("root/repl-other.sock"))
	if err := os.WriteFile(p("root/repl-other.sock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	chown(t, p("root/repl-other.sock"), nobody, nobody)
	rm(t, p("root/repl-root.sock"))
	var again liveSockets
	again.rootListen(t, p("root/repl-root.sock"), 0o600)

	rep, err := LiveAuditor("/proc").Audit(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []auditKey{
		{p("link/l666.sock"), RuleWorldReachable, SeverityHigh},
		{p("nobody/root.sock"), RuleHijackable, SeverityHigh},
		{p("open/o600.sock"), RuleHijackable, SeverityHigh},
		{p("root/dgram666.sock"), RuleWorldReachable, SeverityHigh},
		{p("root/r666.sock"), RuleWorldReachable, SeverityHigh},
		{p("root/repl-other.sock"), RuleFileReplaced, SeverityHigh},
		{p("root/gone.sock"), RuleFileGone, SeverityMedium},
		{p("root/repl-root.sock"), RuleFileReplaced, SeverityMedium},
		// A root-owned stale file in a sticky directory is no finding:
		// the sticky bit keeps others from removing it.
		{p("open/stale.sock"), RuleStaleName, SeverityLow},
	}
	if diff := cmp.Diff(want, auditKeys(rep)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if len(rep.Warnings) > 0 {
		t.Errorf("warnings: %q", rep.Warnings)
	}
	for _, f := range rep.Findings {
		switch f.Path {
		case p("link/l666.sock"):
			if !strings.Contains(f.Detail, "via symlink "+p("link")+" -> root2") {
				t.Errorf("%s: detail %q does not name the symlink", f.Path, f.Detail)
			}
		case p("root/r666.sock"):
			if len(f.Holders) != 1 || f.Holders[0].PID != os.Getpid() || f.Holders[0].User != "root" {
				t.Errorf("%s: holders %+v, want this process as root", f.Path, f.Holders)
			}
		}
		if f.Detail == "" || f.Fix == "" {
			t.Errorf("%s %s: empty detail %q or fix %q", f.Path, f.Rule, f.Detail, f.Fix)
		}
	}
}

func TestAuditLiveGroups(t *testing.T) {
	requireAuditTools(t, "setpriv", "python3", "groupadd", "groupdel")
	accts := accountNames(t)
	if len(accts) < BroadGroupMembers {
		testenv.Skipf(t, testenv.Tools, "the passwd file lists %d accounts, too few to make a group of %d", len(accts), BroadGroupMembers)
	}
	narrow := addGroup(t, nil)
	wide := addGroup(t, accts[:BroadGroupMembers])

	b := auditBase(t)
	p := func(name string) string { return filepath.Join(b, name) }
	mkdir(t, p("g"), 0o755, 0, 0)
	// Only the wide group may search this directory.
	mkdir(t, p("gdir"), 0o750, 0, wide)
	mkdir(t, p("nobody"), 0o755, nobody, nobody)

	var l liveSockets
	group := func(name string, mode fs.FileMode, gid uint32) {
		l.rootListen(t, p(name), mode)
		chown(t, p(name), 0, gid)
	}
	group("g/narrow660.sock", 0o660, narrow)
	group("g/wide660.sock", 0o660, wide)
	group("g/wide640.sock", 0o640, wide)
	group("g/wide666.sock", 0o666, wide)
	group("gdir/wide660.sock", 0o660, wide)
	group("gdir/wide666.sock", 0o666, wide)
	group("gdir/narrow666.sock", 0o666, narrow)
	want := []auditKey{
		{p("g/wide666.sock"), RuleWorldReachable, SeverityHigh},
		{p("g/wide660.sock"), RuleGroupReachable, SeverityMedium},
		{p("gdir/wide660.sock"), RuleGroupReachable, SeverityMedium},
		{p("gdir/wide666.sock"), RuleGroupReachable, SeverityMedium},
		// The directory's group grants the search, the socket's other bits
		// the write: the wide group's members connect.
		{p("gdir/narrow666.sock"), RuleGroupReachable, SeverityMedium},
	}
	if g, err := user.LookupGroup("users"); err == nil {
		gid, _ := strconv.ParseUint(g.Gid, 10, 32)
		group("g/users660.sock", 0o660, uint32(gid))
		want = append(want, auditKey{p("g/users660.sock"), RuleGroupReachable, SeverityMedium})
	}
	l.nobodyListen(t, map[string]fs.FileMode{p("nobody/wide660.sock"): 0o660})
	chown(t, p("nobody/wide660.sock"), nobody, wide)

	rep, err := LiveAuditor("/proc").Audit(context.Background(), l.snapshot(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(want, func(x, y auditKey) int {
		if x.Severity != y.Severity {
			return int(y.Severity - x.Severity)
		}
		return strings.Compare(x.Path, y.Path)
	})
	if diff := cmp.Diff(want, auditKeys(rep)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	for _, f := range rep.Findings {
		if f.Path == p("g/wide660.sock") && !strings.Contains(f.Detail, strconv.Itoa(BroadGroupMembers)+" accounts") {
			t.Errorf("%s: detail %q does not count the members", f.Path, f.Detail)
		}
	}
}

func TestAuditWalk(t *testing.T) {
	b := t.TempDir()
	p := func(name string) string { return filepath.Join(b, name) }
	for _, d := range []string{"a", "a/b", "c"} {
		if err := os.Mkdir(p(d), 0o755); err != nil {
			t.Fatal(err)
		}
		// The walk examines the final component too.
		if err := os.WriteFile(p(d+"/s.sock"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	symlink(t, "a/b", p("rel"))
	symlink(t, p("a"), p("abs"))
	symlink(t, "../c", p("a/up"))
	symlink(t, "loop", p("loop"))
	if err := os.WriteFile(p("file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		path   string
		dirs   []string // below the base, deduplicated and sorted
		links  []string
		parent string
		err    error
	}{
		{name: "plain", path: "a/b/s.sock", dirs: []string{"a", "a/b"}, parent: "a/b"},
		{name: "relative link", path: "rel/s.sock", dirs: []string{"a", "a/b"}, links: []string{"rel -> a/b"}, parent: "a/b"},
		{name: "absolute link", path: "abs/b/s.sock", dirs: []string{"a", "a/b"}, links: []string{"abs -> " + p("a")}, parent: "a/b"},
		{name: "link to parent's sibling", path: "a/up/s.sock", dirs: []string{"a", "c"}, links: []string{"a/up -> ../c"}, parent: "c"},
		// ".." after a symlink leaves the target, not the link, as namei does.
		{name: "dotdot after link", path: "rel/../s.sock", dirs: []string{"a", "a/b"}, links: []string{"rel -> a/b"}, parent: "a"},
		{name: "dot and slashes", path: "a/./b//s.sock", dirs: []string{"a", "a/b"}, parent: "a/b"},
		{name: "loop", path: "loop/s.sock", err: errLoop},
		{name: "not a directory", path: "file/s.sock", err: ErrNotDir},
		{name: "missing", path: "missing/s.sock", err: fs.ErrNotExist},
	}
	au := &audit{Auditor: LiveAuditor("/proc")}
	rel := func(s string) string { return strings.TrimPrefix(strings.TrimPrefix(s, b), "/") }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := au.walk(b + "/" + tt.path)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("walk: %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var dirs []string
			for _, s := range w.steps {
				if s.link == nil && strings.HasPrefix(s.dir.path, b+"/") {
					dirs = append(dirs, rel(s.dir.path))
				}
			}
			slices.Sort(dirs)
			var links []string
			for _, l := range w.links {
				links = append(links, rel(l))
			}
			got := struct{ Dirs, Links []string }{slices.Compact(dirs), links}
			if diff := cmp.Diff(struct{ Dirs, Links []string }{tt.dirs, tt.links}, got); diff != "" {
				t.Errorf("walk (-want +got):\n%s", diff)
			}
			if rel(w.parent.path) != tt.parent {
				t.Errorf("parent %s, want %s", w.parent.path, tt.parent)
			}
		})
	}
}

// requireAuditTools skips tests that need root and the given commands,
// or fails them where CI promised both.
func requireAuditTools(t *testing.T, cmds ...string) {
	t.Helper()
	testenv.NeedRoot(t, "makes files of other users and groups")
	pkgs := map[string]string{"setpriv": "util-linux", "python3": "python3", "groupadd": "passwd", "groupdel": "passwd"}
	for _, c := range cmds {
		testenv.NeedTool(t, c, pkgs[c])
	}
}

// auditBase returns a directory every user may search, below ancestors
// that do not themselves raise findings.
func auditBase(t *testing.T) string {
	t.Helper()
	b := t.TempDir()
	for _, d := range []string{b, filepath.Dir(b)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for d := filepath.Dir(filepath.Dir(b)); ; d = filepath.Dir(d) {
		fi, err := lstat(d)
		if err != nil {
			t.Fatal(err)
		}
		m := fi.Mode
		// Group-writable counts too: the oracle's accounts are in broad
		// groups.
		if m.Perm()&0o001 == 0 || (m.Perm()&0o022 != 0 && m&fs.ModeSticky == 0) || fi.UID != 0 || m.Type() != fs.ModeDir {
			testenv.Skipf(t, testenv.Root, "temporary directory below %s (%s, uid %d), which others cannot search or may write; set TMPDIR", d, m, fi.UID)
		}
		if d == "/" {
			return b
		}
	}
}

func mkdir(t *testing.T, p string, mode fs.FileMode, uid, gid uint32) {
	t.Helper()
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	chown(t, p, uid, gid)
	// After chown, which clears the sticky and set-id bits.
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, p string, uid, gid uint32) {
	t.Helper()
	if err := os.Lchown(p, int(uid), int(gid)); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func rm(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

// staleFile leaves a socket file nothing is bound to.
func staleFile(t *testing.T, p string) {
	t.Helper()
	ln, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
}

// liveSockets builds the snapshot a backend would give of the listeners a
// test opened, with the bound file identities the kernel reports.
type liveSockets struct {
	snap Snapshot
}

func (l *liveSockets) add(t *testing.T, p string, pid int) SocketID {
	t.Helper()
	return l.addSocket(t, Socket{Path: p, Type: TypeStream, State: StateListening}, pid)
}

// addSocket adds s, bound at s.Path, with the next free id.
func (l *liveSockets) addSocket(t *testing.T, s Socket, pid int) SocketID {
	t.Helper()
	fi, err := lstat(s.Path)
	if err != nil {
		t.Fatal(err)
	}
	s.ID = SocketID(len(l.snap.Sockets) + 1)
	s.Known |= KnownBound
	s.Bound = fi.ID
	l.snap.Sockets = append(l.snap.Sockets, s)
	l.snap.Owners = append(l.snap.Owners, Owner{ID: s.ID, PID: pid, FD: int(s.ID) + 2})
	return s.ID
}

func (l *liveSockets) snapshot(t *testing.T) *Snapshot {
	t.Helper()
	s := l.snap
	return &s
}

// rootListen listens at p in this process, which runs as root.
func (l *liveSockets) rootListen(t *testing.T, p string, mode fs.FileMode) {
	t.Helper()
	ln, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	t.Cleanup(func() { ln.Close() })
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	l.add(t, p, os.Getpid())
}

// nobodyListen listens at the paths in a child process running as nobody,
// and returns once every socket is bound.
func (l *liveSockets) nobodyListen(t *testing.T, modes map[string]fs.FileMode) {
	t.Helper()
	const script = `
import socket, sys
held = []
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(p)
    except OSError as e:
        sys.exit("%s: %s" % (p, e))
    s.listen()
    held.append(s)
print("ready", flush=True)
sys.stdin.read()
`
	paths := slices.Sorted(func(yield func(string) bool) {
		for p := range modes {
			if !yield(p) {
				return
			}
		}
	})
	args := append([]string{"--reuid=" + strconv.Itoa(nobody), "--regid=" + strconv.Itoa(nobody), "--clear-groups", "python3", "-c", script}, paths...)
	cmd := exec.Command("setpriv", args...)
	cmd.Env = append(os.Environ(), systemPath)
	cmd.Stderr = os.Stderr
	line, _, err := testutil.StartChild(t, cmd)
	if line != "ready\n" {
		t.Fatalf("unprivileged listener did not start: %q, %v", line, err)
	}
	for _, p := range paths {
		if err := os.Chmod(p, modes[p]); err != nil {
			t.Fatal(err)
		}
		l.add(t, p, cmd.Process.Pid)
	}
}

// accountNames lists the accounts of the passwd file.
func accountNames(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		testenv.Skipf(t, testenv.Tools, "no passwd file: %v", err)
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && name != "" && name[0] != '#' && name[0] != '+' && name[0] != '-' {
			names = append(names, name)
		}
	}
	return names
}

// addGroup creates a group of a random name with the given members and
// removes it when the test ends.
func addGroup(t *testing.T, members []string) uint32 {
	t.Helper()
	var rnd [4]byte
	rand.Read(rnd[:])
	return oracleGroup(t, "udslsaudit"+hex.EncodeToString(rnd[:]), members)
}

// retry runs a command until it succeeds or ten seconds have passed: the
// shadow tools fail at once when another holds their lock.
func retry(t *testing.T, name string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || !strings.Contains(string(out), "lock") {
			t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAuditWarnsOnce: sockets in one directory that cannot be examined
// give one warning naming the directory, not one per socket, and so does
// the search for stale files there.
func TestAuditWarnsOnce(t *testing.T) {
	b := t.TempDir()
	symlink(t, "loop", filepath.Join(b, "loop"))
	dir := filepath.Join(b, "loop")
	snap := &Snapshot{}
	for i, name := range []string{"a.sock", "b.sock", "c.sock"} {
		id := SocketID(i + 1)
		snap.Sockets = append(snap.Sockets, Socket{ID: id, Path: dir + "/" + name, Type: TypeStream, State: StateListening, Known: KnownBound, Bound: FileID{1, uint64(10 + i)}})
		snap.Owners = append(snap.Owners, Owner{ID: id, PID: 100, FD: 3 + i})
	}
	r := fakeResolver(map[int]Process{100: {PID: 100, Command: "appd", UID: 0}}, nil)
	r.Files = LiveResolver("/proc").Files
	r.Lstat = func(p string) (*FileInfo, error) {
		if strings.HasPrefix(p, dir+"/") {
			return nil, &fs.PathError{Op: "lstat", Path: p, Err: syscall.EACCES}
		}
		return lstat(p)
	}
	rep, err := (&Auditor{Resolver: r, Readlink: os.Readlink}).Audit(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The second is the stale search's, whose wording is its own.
	if len(rep.Warnings) != 3 || rep.Warnings[0] != `cannot audit 3 sockets in "`+dir+`": the socket files could not be examined` ||
		rep.Warnings[1] != "no socket could be audited; nothing was audited" || !strings.HasPrefix(rep.Warnings[2], `skipping "`+dir+`": `) {
		t.Errorf("warnings %q, want one about the sockets, that nothing was audited, and one about the stale search, each naming %s", rep.Warnings, dir)
	}
	// Every socket was skipped: no green light.
	if !rep.NothingAudited {
		t.Error("NothingAudited is false, though no socket could be audited")
	}
}

// TestAuditACLWarns: an ACL changes what the kernel decides, and the
// audit does not read ACLs, so it says where one is.
func TestAuditACLWarns(t *testing.T) {
	b := t.TempDir()
	dir := filepath.Join(b, "acl")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	// user::rwx user:65534:rwx group::r-x mask::rwx other::---, as
	// acl_to_xattr lays it out.
	le := func(v uint32, n int) []byte {
		out := make([]byte, n)
		for i := range out {
			out[i] = byte(v >> (8 * i))
		}
		return out
	}
	acl := le(2, 4)
	for _, e := range []struct{ tag, perm, id uint32 }{{0x01, 7, ^uint32(0)}, {0x02, 7, nobody}, {0x04, 5, ^uint32(0)}, {0x10, 7, ^uint32(0)}, {0x20, 0, ^uint32(0)}} {
		acl = append(append(append(acl, le(e.tag, 2)...), le(e.perm, 2)...), le(e.id, 4)...)
	}
	if err := unix.Setxattr(dir, "system.posix_acl_access", acl, 0); err != nil {
		testenv.Skipf(t, testenv.Tools, "cannot set an ACL on %s: %v", dir, err)
	}
	var l liveSockets
	ln, err := net.Listen("unix", dir+"/s.sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	l.add(t, dir+"/s.sock", os.Getpid())
	rep, err := LiveAuditor("/proc").Audit(context.Background(), l.snapshot(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := dir + " has a POSIX ACL, which the audit does not read"
	if !slices.ContainsFunc(rep.Warnings, func(w string) bool { return strings.HasPrefix(w, want) }) {
		t.Errorf("warnings %q, want one starting %q", rep.Warnings, want)
	}
}
