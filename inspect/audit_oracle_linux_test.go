package inspect

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/udsls/udsls/platform/testenv"
)

// The audit truth oracle: a world of live sockets, directories, groups,
// symlinks and temporary accounts, where the truth about who may connect
// and who may replace a name comes from trying it as each account in a
// child process that runs with that account's credentials. The audit must
// agree with the kernel on every (socket, account) pair, and its findings
// must be exactly those the truth calls for.

const oracleChildEnv = "UDSLS_AUDIT_ORACLE_CHILD"

// oracleOp is one attempt a child makes.
type oracleOp struct {
	// Connect connects to (Dgram: sends a datagram to) this path.
	Connect string `json:",omitempty"`
	Dgram   bool   `json:",omitempty"`
	// Rename renames this file to a new name in its directory, and back.
	Rename string `json:",omitempty"`
}

type oraclePlan struct {
	// Chmod are the files the account owns, parents first: it adds every
	// owner permission to them first, as an owner may (the parent
	// restores them).
	Chmod []string
	Ops   []oracleOp
}

// TestAuditOracleChild is not a test: TestAuditOracle runs this binary as
// other accounts with this environment variable set, and this function
// then makes the attempts of the plan on stdin.
func TestAuditOracleChild(t *testing.T) {
	if os.Getenv(oracleChildEnv) != "1" {
		return
	}
	var plan oraclePlan
	if err := json.NewDecoder(os.Stdin).Decode(&plan); err != nil {
		fmt.Println("ORACLE-ERROR", err)
		os.Exit(2)
	}
	for _, p := range plan.Chmod {
		if fi, err := os.Lstat(p); err == nil {
			os.Chmod(p, fi.Mode()|0o700)
		}
	}
	res := make([]string, len(plan.Ops))
	for i, op := range plan.Ops {
		var err error
		switch {
		case op.Connect != "":
			err = oracleConnect(op.Connect, op.Dgram)
		case op.Rename != "":
			if err = os.Rename(op.Rename, op.Rename+".moved"); err == nil {
				if err := os.Rename(op.Rename+".moved", op.Rename); err != nil {
					res[i] = "cannot move back: " + err.Error()
					continue
				}
			}
		}
		switch {
		case err == nil:
			res[i] = "ok"
		case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
			res[i] = "denied"
		default:
			res[i] = err.Error()
		}
	}
	b, _ := json.Marshal(res)
	fmt.Println("ORACLE", string(b))
	os.Exit(0)
}

func oracleConnect(p string, dgram bool) error {
	typ := syscall.SOCK_STREAM
	if dgram {
		typ = syscall.SOCK_DGRAM
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, typ|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	sa := &syscall.SockaddrUnix{Name: p}
	if dgram {
		err = syscall.Sendto(fd, []byte("x"), 0, sa)
	} else {
		err = syscall.Connect(fd, sa)
	}
	// A full backlog or queue is a reached socket.
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINPROGRESS) {
		return nil
	}
	return err
}

// oracleAccount is a temporary account, or nobody.
type oracleAccount struct {
	role string
	name string
	uid  uint32
	gid  uint32   // primary
	sup  []uint32 // supplementary
}

func (a *oracleAccount) ident() ident {
	gids := slices.Concat([]uint32{a.gid}, a.sup)
	slices.Sort(gids)
	return ident{uid: a.uid, gids: slices.Compact(gids), name: a.role}
}

// oracleTarget is a socket file, live or stale, whose truth is measured.
type oracleTarget struct {
	path   string // as clients name it
	dgram  bool
	stale  bool
	server uint32 // the uid serving it; a stale file's owner
}

func TestAuditOracle(t *testing.T) {
	testenv.Heavy(t, "makes accounts and a world of files, and connects as each account, ~10s")
	testenv.NeedRoot(t, "makes accounts, groups and files of other users, and connects as them")
	for _, tool := range []string{"useradd", "userdel", "groupadd", "groupdel"} {
		testenv.NeedTool(t, tool, "passwd")
	}
	testenv.NeedTool(t, "setpriv", "util-linux")
	testenv.NeedTool(t, "python3", "python3")
	accts := accountNames(t)
	if len(accts) < BroadGroupMembers {
		testenv.Skipf(t, testenv.Tools, "the passwd file lists %d accounts, too few to make a group of %d", len(accts), BroadGroupMembers)
	}
	usersGrp, err := user.LookupGroup("users")
	if err != nil {
		testenv.Skipf(t, testenv.Tools, "no users group: %v", err)
	}
	usersGID := parseID(t, usersGrp.Gid)

	var rnd [3]byte
	rand.Read(rnd[:])
	prefix := "uao" + hex.EncodeToString(rnd[:])
	wide := oracleGroup(t, prefix+"-gwide", accts[:BroadGroupMembers])
	narrow := oracleGroup(t, prefix+"-gnarrow", nil)
	acct := func(role string, sup ...uint32) *oracleAccount {
		name := prefix + "-" + role
		args := []string{"-M", "-U", "-s", "/usr/sbin/nologin"}
		if len(sup) > 0 {
			var gs []string
			for _, g := range sup {
				gs = append(gs, strconv.FormatUint(uint64(g), 10))
			}
			args = append(args, "-G", strings.Join(gs, ","))
		}
		retry(t, "useradd", append(args, name)...)
		t.Cleanup(func() {
			retry(t, "userdel", name)
			// userdel leaves the account's group where login.defs says so.
			if _, err := user.LookupGroup(name); err == nil {
				retry(t, "groupdel", name)
			}
		})
		u, err := user.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		return &oracleAccount{role: role, name: name, uid: parseID(t, u.Uid), gid: parseID(t, u.Gid), sup: sup}
	}
	out := acct("out")
	wideM := acct("wide", wide)
	usersM := acct("users", usersGID)
	both := acct("both", wide, usersGID)
	narrowM := acct("narrow", narrow)
	own := acct("own")
	nob := &oracleAccount{role: "nobody", name: "nobody", uid: nobody, gid: nobody}
	accounts := []*oracleAccount{out, wideM, usersM, both, narrowM, own, nob}

	b := auditBase(t)
	p := func(name string) string { return filepath.Join(b, name) }
	const root = 0
	type dirSpec struct {
		name     string
		mode     fs.FileMode
		uid, gid uint32
	}
	dirs := []dirSpec{
		{"d755", 0o755, root, root},
		{"d750w", 0o750, root, wide},
		{"d750n", 0o750, root, narrow},
		{"d705w", 0o705, root, wide},
		{"d770w", 0o770, root, wide},
		{"d775u", 0o775, root, usersGID},
		{"d770n", 0o770, root, narrow},
		{"d1777", fs.ModeSticky | 0o777, root, root},
		{"d0777", 0o777, root, root},
		{"down", 0o755, own.uid, own.gid},
		{"downro", 0o555, own.uid, own.gid},
		{"d1777own", fs.ModeSticky | 0o777, own.uid, own.gid},
		{"d711", 0o711, root, root},
		{"d700", 0o700, root, root},
		// Open or foreign-owned, below a directory only root may search.
		{"d700/open", 0o777, root, root},
		{"d700/own", 0o755, own.uid, own.gid},
		// World-writable below a directory only the wide group may search.
		{"d750w/open", 0o777, root, root},
		{"d705w/in", 0o755, root, root},
	}
	for _, d := range dirs {
		mkdir(t, p(d.name), d.mode, d.uid, d.gid)
	}
	type linkSpec struct {
		name, target string
		uid, gid     uint32
	}
	links := []linkSpec{
		{"lroot", "d755", root, root},
		// Owned by own, in a directory only root may write: not repointable.
		{"lown", "d755", own.uid, own.gid},
		// Owned by own in a sticky directory: own may replace it.
		{"d1777/lown", "../d755", own.uid, own.gid},
		{"d1777/lroot", "../d755", root, root},
		{"lnest", "d700/open", root, root},
		{"d750w/lin", "../d1777", root, root},
		{"lchain", "lroot", root, root},
	}
	for _, l := range links {
		symlink(t, l.target, p(l.name))
		chown(t, p(l.name), l.uid, l.gid)
	}

	var l liveSockets
	var targets []oracleTarget
	rootSock := func(name string, mode fs.FileMode, uid, gid uint32) {
		l.rootListen(t, p(name), mode)
		chown(t, p(name), uid, gid)
		if err := os.Chmod(p(name), mode); err != nil {
			t.Fatal(err)
		}
		targets = append(targets, oracleTarget{path: p(name), server: root})
	}
	variants := []struct {
		name string
		mode fs.FileMode
		gid  uint32
	}{
		{"s666", 0o666, root}, {"s660w", 0o660, wide}, {"s660n", 0o660, narrow},
		{"s600", 0o600, root}, {"s777", 0o777, root}, {"s606w", 0o606, wide},
		// With d750w or d775u above: only a member of both groups gets in.
		{"s660u", 0o660, usersGID},
	}
	for _, d := range dirs {
		for _, v := range variants {
			rootSock(d.name+"/"+v.name+".sock", v.mode, root, v.gid)
		}
	}
	for _, l := range links {
		tag := strings.ReplaceAll(l.name, "/", "_")
		rootSock(l.name+"/x666-"+tag+".sock", 0o666, root, root)
		rootSock(l.name+"/x660w-"+tag+".sock", 0o660, root, wide)
	}
	// Served by root, owned by another user.
	rootSock("d755/rown.sock", 0o600, own.uid, own.gid)
	rootSock("d755/rown000.sock", 0, own.uid, own.gid)
	rootSock("d1777/rown.sock", 0o600, own.uid, own.gid)
	for _, name := range []string{"d750w/g666.sock", "d705w/g666.sock", "d1777/g666.sock"} {
		c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p(name), Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := os.Chmod(p(name), 0o666); err != nil {
			t.Fatal(err)
		}
		l.addSocket(t, Socket{Path: p(name), Type: TypeDgram, State: StateUnconnected, Known: KnownPeer}, os.Getpid())
		targets = append(targets, oracleTarget{path: p(name), dgram: true, server: root})
	}
	nobodySocks := map[string]fs.FileMode{}
	for _, name := range []string{"d755/n666.sock", "d1777/n600.sock", "d0777/n600.sock", "d770w/n600.sock", "down/n600.sock"} {
		nobodySocks[p(name)] = 0o666
		if strings.HasSuffix(name, "600.sock") {
			nobodySocks[p(name)] = 0o600
		}
		targets = append(targets, oracleTarget{path: p(name), server: nobody})
	}
	// nobody binds there only while the directories let it.
	for _, d := range dirs {
		if d.name == "d755" || d.name == "d770w" || d.name == "down" {
			if err := os.Chmod(p(d.name), 0o777); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(p(d.name), d.mode)
		}
	}
	l.nobodyListen(t, nobodySocks)
	for _, d := range dirs {
		if err := os.Chmod(p(d.name), d.mode); err != nil {
			t.Fatal(err)
		}
	}
	for name := range nobodySocks {
		// Not nogroup, which is broad by name: the oracle's accounts are
		// not in it.
		chown(t, name, nobody, root)
	}
	for _, s := range []struct {
		name     string
		uid, gid uint32
	}{
		{"d0777/stale.sock", root, root},
		{"d1777/stale.sock", root, root},
		{"d1777/stale-own.sock", own.uid, own.gid},
		{"d1777own/stale.sock", root, root},
		{"d770w/stale.sock", root, root},
		{"d755/stale.sock", root, root},
	} {
		staleFile(t, p(s.name))
		chown(t, p(s.name), s.uid, s.gid)
		targets = append(targets, oracleTarget{path: p(s.name), stale: true, server: s.uid})
	}

	// The twins: for every entry a lookup of a target passes below the
	// base, a regular file of the same owner in the same directory, which
	// the accounts try to rename. Whoever may rename it may remove the
	// entry and create another in its place.
	type entry struct{ dir, name string }
	twins := map[entry]string{}
	targetEntries := map[string][]entry{}
	for _, tg := range targets {
		for _, e := range oracleEntries(t, tg.path) {
			if !strings.HasPrefix(e.dir+"/", b+"/") {
				continue
			}
			en := entry(e)
			if _, ok := twins[en]; !ok {
				fi, err := lstat(path.Join(e.dir, e.name))
				if err != nil {
					t.Fatal(err)
				}
				twin := path.Join(e.dir, fmt.Sprintf(".twin%d", len(twins)))
				if err := os.WriteFile(twin, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				chown(t, twin, fi.UID, fi.GID)
				twins[en] = twin
			}
			targetEntries[tg.path] = append(targetEntries[tg.path], en)
		}
	}

	// What every account can do, by trying.
	bin := oracleBinary(t, b)
	modes := map[string]fs.FileMode{}
	var all []string
	filepath.WalkDir(b, func(q string, d fs.DirEntry, err error) error {
		if err == nil && q != b {
			if fi, err := lstat(q); err == nil && fi.Mode.Type() != fs.ModeSymlink {
				modes[q] = fi.Mode
				all = append(all, q)
			}
		}
		return nil
	})
	type truthKey struct{ target, role string }
	connectTruth := map[truthKey]bool{}
	replaceTruth := map[truthKey]bool{}
	entryTruth := map[truthKey][]string{}
	probes := 0
	for _, a := range accounts {
		var plan oraclePlan
		for _, q := range all {
			if fi, _ := lstat(q); fi != nil && fi.UID == a.uid {
				plan.Chmod = append(plan.Chmod, q)
			}
		}
		var opTarget []string
		var opEntry []string
		for _, tg := range targets {
			if !tg.stale {
				plan.Ops = append(plan.Ops, oracleOp{Connect: tg.path, Dgram: tg.dgram})
				opTarget = append(opTarget, tg.path)
				opEntry = append(opEntry, "")
			}
			for _, en := range targetEntries[tg.path] {
				plan.Ops = append(plan.Ops, oracleOp{Rename: twins[en]})
				opTarget = append(opTarget, tg.path)
				opEntry = append(opEntry, path.Join(en.dir, en.name))
			}
		}
		res := oracleRun(t, bin, a, plan)
		// Undo the owner's chmods, and any twin left moved.
		for _, q := range all {
			os.Chmod(q, modes[q])
		}
		for _, twin := range twins {
			if _, err := os.Lstat(twin); err != nil {
				if err := os.Rename(twin+".moved", twin); err != nil {
					t.Fatalf("%s: twin %s lost: %v", a.role, twin, err)
				}
			}
		}
		for i, op := range plan.Ops {
			probes++
			k := truthKey{opTarget[i], a.role}
			ok := res[i] == "ok"
			if res[i] != "ok" && res[i] != "denied" {
				t.Fatalf("%s: %+v: %s", a.role, op, res[i])
			}
			if op.Connect != "" {
				connectTruth[k] = ok
			} else if ok {
				replaceTruth[k] = true
				entryTruth[k] = append(entryTruth[k], opEntry[i])
			}
		}
	}
	// Back to the modes the audit is to judge.
	for _, q := range all {
		if fi, err := lstat(q); err != nil || fi.Mode != modes[q] {
			t.Fatalf("%s: mode not restored", q)
		}
	}

	// The cases the kernel decides against intuition, spelled out.
	for _, c := range []struct {
		target, role string
		connect      bool
		replace      bool
	}{
		// The group bits instead of the other bits: a member of the
		// directory's group is refused where everyone else may search.
		{"d705w/s666.sock", "wide", false, false},
		{"d705w/s666.sock", "out", true, false},
		// Only the combination of the directory's and the socket's group.
		{"d750w/s660u.sock", "both", true, false},
		{"d750w/s660u.sock", "wide", false, false},
		{"d750w/s660u.sock", "users", false, false},
		// Reach through the directory's group.
		{"d750w/s666.sock", "wide", true, false},
		{"d750w/s666.sock", "out", false, false},
		// A world-writable directory below one others cannot search.
		{"d700/open/s600.sock", "out", false, false},
		{"d750w/open/s600.sock", "out", false, false},
		{"d750w/open/s600.sock", "wide", false, true},
		// A directory writable by a broad group.
		{"d770w/s600.sock", "wide", false, true},
		{"d775u/s600.sock", "users", false, true},
		// Sticky: root's entries stay; the owner of an entry may move it.
		{"d1777/s600.sock", "out", false, false},
		{"d1777/stale.sock", "out", false, false},
		{"d1777/rown.sock", "own", true, true},
		// A symlink its owner may replace, and one it may not.
		{"d1777/lown/x666-d1777_lown.sock", "own", true, true},
		{"d1777/lown/x666-d1777_lown.sock", "out", true, false},
		{"lown/x660w-lown.sock", "own", false, false},
		// The owner of a read-only directory may chmod it first.
		{"downro/s600.sock", "own", false, true},
	} {
		k := truthKey{p(c.target), c.role}
		if _, tried := connectTruth[k]; !tried && !strings.Contains(c.target, "stale") {
			t.Fatalf("%s: no such socket in the world", c.target)
		}
		if connectTruth[k] != c.connect || replaceTruth[k] != c.replace {
			t.Errorf("the world is not as built: %s as %s: connect %v, replace %v; want %v, %v", c.target, c.role, connectTruth[k], replaceTruth[k], c.connect, c.replace)
		}
	}

	// The audit's own decisions, account by account.
	a := LiveAuditor("/proc")
	au := &audit{Auditor: a, found: map[findingKey]*Finding{}}
	mismatches := 0
	for _, tg := range targets {
		w, err := au.walk(tg.path)
		if err != nil {
			t.Fatalf("walk %s: %v", tg.path, err)
		}
		for _, acc := range accounts {
			k := truthKey{tg.path, acc.role}
			id := acc.ident()
			if !tg.stale {
				if got, why := au.connect(w, id); got != connectTruth[k] {
					mismatches++
					t.Errorf("%s as %s: audit says connect %v (%s), the kernel %v", rel(b, tg.path), acc.role, got, why, connectTruth[k])
				}
			}
			got, why := au.replace(w, id)
			// Entries above the base are root's, in directories only root
			// may write, and were not tried.
			if got != replaceTruth[k] {
				mismatches++
				t.Errorf("%s as %s: audit says replace %v (%s), the kernel %v (%q)", rel(b, tg.path), acc.role, got, why, replaceTruth[k], entryTruth[k])
			}
		}
	}

	// The findings the truth calls for: reach of a root server by everyone
	// or by members of broad groups, and replacement by anyone but root
	// and the server (narrow groups' members are trusted by whoever gave
	// the group access).
	broadRoles := []string{"wide", "users", "both"}
	var want []auditKey
	for _, tg := range targets {
		k := func(role string) truthKey { return truthKey{tg.path, role} }
		if !tg.stale && tg.server == root {
			switch {
			case connectTruth[k("out")]:
				want = append(want, auditKey{tg.path, RuleWorldReachable, SeverityHigh})
			case slices.ContainsFunc(broadRoles, func(r string) bool { return connectTruth[k(r)] }):
				want = append(want, auditKey{tg.path, RuleGroupReachable, SeverityMedium})
			}
		}
		hijack := false
		for _, acc := range accounts {
			if acc.uid != tg.server && acc.role != "narrow" && replaceTruth[k(acc.role)] {
				hijack = true
			}
		}
		if hijack && tg.stale {
			want = append(want, auditKey{tg.path, RuleStaleName, SeverityLow})
		} else if hijack {
			want = append(want, auditKey{tg.path, RuleHijackable, SeverityHigh})
		}
	}
	slices.SortFunc(want, func(x, y auditKey) int {
		if x.Severity != y.Severity {
			return int(y.Severity - x.Severity)
		}
		return strings.Compare(x.Path+"\x00"+x.Rule, y.Path+"\x00"+y.Rule)
	})
	rep, err := a.Audit(context.Background(), l.snapshot(t), []string{b + "/*", b + "/*/*", b + "/*/*/*"})
	if err != nil {
		t.Fatal(err)
	}
	got := auditKeys(rep)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-truth +audit):\n%s", diff)
		for _, f := range rep.Findings {
			t.Logf("%s %s: %s", rel(b, f.Path), f.Rule, f.Detail)
		}
	}
	if len(rep.Warnings) > 0 {
		t.Errorf("warnings: %q", rep.Warnings)
	}
	// Each finding's reach, class by class, is the truth too.
	roleOf := func(r Access) string {
		switch {
		case r.Class == "everyone":
			return "out"
		case r.Class == "owner":
			for _, acc := range accounts {
				if acc.name == r.Who {
					return acc.role
				}
			}
		case strings.Contains(r.Who, "-gwide") && strings.Contains(r.Who, "group users "):
			return "both"
		case strings.Contains(r.Who, "-gwide"):
			return "wide"
		case strings.Contains(r.Who, "group users "):
			return "users"
		}
		return ""
	}
	reachChecked := 0
	for _, f := range rep.Findings {
		for _, r := range f.Reach {
			role := roleOf(r)
			if role == "" {
				t.Errorf("%s %s: reach of %q, who is none of the accounts", rel(b, f.Path), f.Rule, r.Who)
				continue
			}
			k := truthKey{f.Path, role}
			if r.Connect != nil && *r.Connect != connectTruth[k] || r.Replace != replaceTruth[k] {
				mismatches++
				t.Errorf("%s %s: reach of %s (%s): connect %v, replace %v (%s); the kernel %v, %v", rel(b, f.Path), f.Rule, r.Who, role, r.Connect != nil && *r.Connect, r.Replace, r.ReplaceBecause, connectTruth[k], replaceTruth[k])
			}
			reachChecked++
		}
	}
	live := 0
	for _, tg := range targets {
		if !tg.stale {
			live++
		}
	}
	t.Logf("world: %d live sockets, %d stale files, %d directories, %d symlinks, %d entries with twins, %d accounts; %d attempts; %d findings with %d reaches; %d disagreements", live, len(targets)-live, len(dirs), len(links), len(twins), len(accounts), probes, len(got), reachChecked, mismatches)
}

func rel(base, p string) string { return strings.TrimPrefix(p, base+"/") }

func parseID(t *testing.T, s string) uint32 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(n)
}

// oracleGroup creates a group with the given members, removed when the
// test ends (registered before the accounts' cleanups, so it runs after
// them). Other tests may hold the group file's lock for a moment.
func oracleGroup(t *testing.T, name string, members []string) uint32 {
	t.Helper()
	args := []string{name}
	if len(members) > 0 {
		args = append(args, "-U", strings.Join(members, ","))
	}
	retry(t, "groupadd", args...)
	// Registered before the accounts' cleanups, so it runs after them.
	t.Cleanup(func() { retry(t, "groupdel", name) })
	g, err := user.LookupGroup(name)
	if err != nil {
		t.Fatal(err)
	}
	return parseID(t, g.Gid)
}

type oracleEntry struct{ dir, name string }

// oracleEntries are the directory entries a lookup of p passes, each with
// its directory's path with symlinks resolved, found by resolving every
// prefix of p and of every symlink's target with the standard library.
func oracleEntries(t *testing.T, p string) []oracleEntry {
	t.Helper()
	var out []oracleEntry
	var visit func(p string, depth int)
	visit = func(p string, depth int) {
		if depth > 8 {
			t.Fatalf("%s: symlinks nest too deep", p)
		}
		parts := strings.Split(strings.TrimPrefix(path.Clean(p), "/"), "/")
		for i := range parts {
			prefix := "/" + path.Join(parts[:i+1]...)
			dir, err := filepath.EvalSymlinks(path.Dir(prefix))
			if err != nil {
				t.Fatal(err)
			}
			e := oracleEntry{dir, path.Base(prefix)}
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
			fi, err := os.Lstat(prefix)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Type() == fs.ModeSymlink {
				target, err := os.Readlink(prefix)
				if err != nil {
					t.Fatal(err)
				}
				if !path.IsAbs(target) {
					target = path.Join(dir, target)
				}
				visit(target, depth+1)
			}
		}
	}
	visit(p, 0)
	return out
}

// oracleBinary copies this test binary where every account may run it.
func oracleBinary(t *testing.T, dir string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	bin := filepath.Join(dir, "oracle.test")
	out, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

// oracleRun makes the plan's attempts as the account and returns their
// outcomes.
func oracleRun(t *testing.T, bin string, a *oracleAccount, plan oraclePlan) []string {
	t.Helper()
	in, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestAuditOracleChild$")
	cmd.Env = []string{oracleChildEnv + "=1", systemPath}
	cmd.Dir = "/"
	cmd.Stdin = strings.NewReader(string(in))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: a.sup}}
	if cmd.SysProcAttr.Credential.Groups == nil {
		cmd.SysProcAttr.Credential.Groups = []uint32{}
	}
	outb, err := cmd.CombinedOutput()
	sc := bufio.NewScanner(strings.NewReader(string(outb)))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "ORACLE "); ok {
			var res []string
			if err := json.Unmarshal([]byte(line), &res); err != nil || len(res) != len(plan.Ops) {
				t.Fatalf("%s: bad answer %q: %v", a.role, line, err)
			}
			return res
		}
	}
	t.Fatalf("child as %s: %v\n%s", a.role, err, outb)
	return nil
}
