package inspect

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/udsls/udsls/internal/errpath"
)

// A Unix socket's only access control is the file system: connect(2) needs
// write permission on the socket file and search permission on every
// directory above it (unix_find_bsd, net/unix/af_unix.c), and whoever may
// write a directory on the path may put another file at the path. The
// audit turns those facts into findings.

// Severity ranks audit findings.
type Severity int

const (
	SeverityLow Severity = iota + 1
	SeverityMedium
	SeverityHigh
)

func (s Severity) String() string {
	switch s {
	case SeverityLow:
		return "low"
	case SeverityMedium:
		return "medium"
	case SeverityHigh:
		return "high"
	}
	return "unknown(" + strconv.Itoa(int(s)) + ")"
}

func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// ParseSeverity accepts the names String returns.
func ParseSeverity(s string) (Severity, error) {
	switch s {
	case "low":
		return SeverityLow, nil
	case "medium":
		return SeverityMedium, nil
	case "high":
		return SeverityHigh, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want low, medium or high)", s)
}

// The audit rules, as the RULE column and the JSON "rule" field name them.
const (
	// RuleWorldReachable: a root process serves a socket every local user
	// may connect to. High.
	RuleWorldReachable = "world-reachable"
	// RuleGroupReachable: a root process serves a socket every member of a
	// broad group may connect to. Medium.
	RuleGroupReachable = "group-reachable"
	// RuleHijackable: a directory on the path lets someone other than root
	// and the server remove the socket and put their own in its place. High.
	RuleHijackable = "hijackable"
	// RuleStaleName: a socket file nothing is bound to, in a directory
	// anyone may write. Low.
	RuleStaleName = "stale-name"
	// RuleFileGone: a server's socket file was deleted. Medium.
	RuleFileGone = "file-gone"
	// RuleFileReplaced: another file is at a server's path now. High when
	// it belongs to a user other than root and the server, else medium.
	RuleFileReplaced = "file-replaced"
)

// BroadGroupMembers is how many accounts make a group broad.
const BroadGroupMembers = 10

// broadGroupNames are groups that hold every user by convention, whatever
// the account files say: users (Linux), everyone and staff (macOS), and the
// groups of nobody, which unrelated daemons share when they drop privileges.
var broadGroupNames = map[string]bool{"users": true, "everyone": true, "nogroup": true, "nobody": true}

func init() {
	if runtime.GOOS == "darwin" {
		broadGroupNames["staff"] = true
	}
}

// Finding is one audit result: a rule that applies to a path.
type Finding struct {
	Path     string
	Rule     string
	Severity Severity
	// Detail gives the facts behind the finding in one line.
	Detail string
	// Fix says in one line how to remove the finding.
	Fix     string
	Holders []Holder
	// Reach is, for the reachability and replacement rules, what each
	// class of users judged may do with the path.
	Reach []Access
	// Netns is, for abstract-reachable, the socket's network namespace;
	// NetnsProcesses counts the processes seen in it, and SharedWith are
	// those of others, by user and container.
	Netns          uint64
	NetnsProcesses int
	SharedWith     []NetnsShare
}

// Access is what one class of users may do with a path, and which
// component decides it.
type Access struct {
	// Who: "everyone", every member of one or more broad groups, or the
	// user owning something on the path.
	Who   string
	Class string // "everyone", "group" or "owner"
	// Server: the socket serves as this user, whose access is no finding.
	Server bool
	// Connect is nil for a stale file, which nothing listens on.
	Connect        *bool
	ConnectBecause string
	Replace        bool
	ReplaceBecause string
}

// AuditReport is what Audit found.
type AuditReport struct {
	// Findings are sorted by severity (highest first), then path, then
	// rule; each (path, rule) appears once.
	Findings []Finding
	// Warnings are the snapshot's and the audit's own, one line each.
	Warnings []string
	// NothingAudited says patterns or directories were given and no
	// socket matched them, or that no socket chosen could be audited.
	NothingAudited bool
}

// Failed reports whether a finding is at or above min.
func (r *AuditReport) Failed(min Severity) bool {
	for i := range r.Findings {
		if r.Findings[i].Severity >= min {
			return true
		}
	}
	return false
}

// Auditor audits the file system side of a snapshot's sockets. The function
// fields reach the system; NewAuditor gives real defaults.
type Auditor struct {
	// Resolver joins the snapshot; its Lstat also examines directories.
	Resolver *Resolver
	Readlink func(path string) (string, error)
	// GroupFile and PasswdFile say who belongs to which group. They are
	// read rather than asked of NSS, so directory-service members are not
	// counted.
	GroupFile  string
	PasswdFile string
	// ProtectedSymlinks is the fs.protected_symlinks sysctl: symlinks in
	// sticky world-writable directories are then followed only by their
	// owners.
	ProtectedSymlinks bool
	// HasACL says whether a file carries a POSIX access ACL, which the
	// audit does not read: it warns instead. Nil looks for none.
	HasACL func(path string) bool
	// MountRoot says whether a path is the root of a mount, which no one
	// may rename or remove (EBUSY). Nil knows of none.
	MountRoot func(path string) bool
	// Containers limits the audit to the sockets held in the containers
	// these patterns name, as Query.Containers does; the socket files no
	// one holds are judged beside theirs.
	Containers []string
	// NetnsProcesses lists the processes with their network namespaces,
	// and counts those whose namespace could not be read. Nil audits no
	// abstract socket.
	NetnsProcesses func(ctx context.Context) (procs []NetnsProcess, unread int, err error)
	// Units limits the audit to sockets held by a process of a systemd
	// unit these globs match (Query.Units).
	Units []string
}

// NewAuditor returns an auditor with procfs mounted at procRoot (Linux;
// ignored elsewhere). Its resolver is NewResolver's, which examines no file
// and names no process or account, and it sees no ACL and no mount root:
// platform/sys.NewAuditor adds them.
func NewAuditor(procRoot string) *Auditor {
	// Unreadable, it counts as off: symlinks then grant more reach, never
	// less.
	b, _ := os.ReadFile(path.Join(procRoot, "sys/fs/protected_symlinks"))
	return &Auditor{
		Resolver:          NewResolver(procRoot),
		Readlink:          os.Readlink,
		GroupFile:         "/etc/group",
		PasswdFile:        "/etc/passwd",
		ProtectedSymlinks: procRoot != "" && strings.TrimSpace(string(b)) == "1",
	}
}

type findingKey struct{ path, rule string }

type audit struct {
	*Auditor
	found    map[findingKey]*Finding
	warnings []string
	accounts *accounts
	accRead  bool
	files    map[string]*FileInfo
	mounts   map[string]bool
	// skipped counts the sockets not audited by directory and reason.
	skipped   map[[2]string]int
	skipOrder [][2]string
	nskipped  int
	// under are the directories whose sockets are audited.
	under []string
}

// Audit examines every listening or bound filesystem socket of snap whose
// path matches one of patterns (all when none), as Query.Patterns matches,
// and the socket files nothing is bound to next to them, as FindStale
// judges them. The error is the stale search's (a cancelled context).
func (a *Auditor) Audit(ctx context.Context, snap *Snapshot, patterns []string) (*AuditReport, error) {
	return a.AuditUnder(ctx, snap, patterns, nil)
}

// AuditUnder is Audit of the sockets that match one of patterns or lie
// below one of dirs (absolute, cleaned; all sockets when both are empty).
// A socket lies below a directory when its path, or its path with the
// symlinks of its directory resolved, starts with it.
func (a *Auditor) AuditUnder(ctx context.Context, snap *Snapshot, patterns, dirs []string) (*AuditReport, error) {
	au := &audit{Auditor: a, found: map[findingKey]*Finding{}, under: dirs}
	entries := a.Resolver.Entries(ctx, snap, Query{Containers: a.Containers, Units: a.Units})
	audited, relative := 0, 0
	var stale []string
	var abstract []*Entry
	for i := range entries {
		e := &entries[i]
		// A name bound through /proc/self is audited where it leads.
		if !au.matches(patterns, e.Path) && (e.FilePath == "" || !au.matches(patterns, e.FilePath)) {
			continue
		}
		if abstractServer(e) {
			audited++
			abstract = append(abstract, e)
			continue
		}
		// A bound stream socket that does not listen cannot be reached.
		if !e.Filesystem() || !(e.Listening() || e.Type == TypeDgram) {
			continue
		}
		if !path.IsAbs(e.Path) && e.FilePath == "" {
			// The directory a relative name was bound in is the binder's
			// working directory at that moment: unless a holder's working
			// directory still holds the bound file, no one can know it.
			relative++
			continue
		}
		audited++
		stale = append(stale, path.Dir(cmp.Or(e.FilePath, e.Path)))
		au.entry(e)
	}
	if err := au.stale(ctx, snap, stale, patterns); err != nil {
		return nil, err
	}
	au.abstract(ctx, abstract)

	rep := &AuditReport{Warnings: slices.Concat(snap.Warnings, snap.OwnerWarnings)}
	if relative > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d sockets bound by a relative path were not audited", relative))
	}
	switch {
	case audited > 0:
	case len(patterns) > 0 || len(dirs) > 0 || len(a.Units) > 0:
		rep.Warnings = append(rep.Warnings, "no socket matches the patterns; nothing was audited")
		rep.NothingAudited = true
	case len(a.Containers) > 0:
		rep.Warnings = append(rep.Warnings, "no filesystem socket in this network namespace is held in the containers named; nothing was audited")
		rep.NothingAudited = true
	}
	for _, k := range au.skipOrder {
		n := au.skipped[k]
		noun := "sockets"
		if n == 1 {
			noun = "socket"
		}
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("cannot audit %d %s in %q: %s", n, noun, k[0], k[1]))
	}
	if audited > 0 && au.nskipped == audited {
		// Every socket chosen was skipped (not root, an unreadable
		// directory): an empty report would pass for a clean one.
		rep.Warnings = append(rep.Warnings, "no socket could be audited; nothing was audited")
		rep.NothingAudited = true
	}
	rep.Warnings = append(rep.Warnings, au.warnings...)
	for _, f := range au.found {
		rep.Findings = append(rep.Findings, *f)
	}
	slices.SortFunc(rep.Findings, func(x, y Finding) int {
		return cmp.Or(cmp.Compare(y.Severity, x.Severity), strings.Compare(x.Path, y.Path), strings.Compare(x.Rule, y.Rule))
	})
	return rep, nil
}

func (au *audit) warn(format string, a ...any) {
	au.warnings = append(au.warnings, fmt.Sprintf(format, a...))
}

// skip counts a socket that could not be audited: one warning per
// directory and reason says how many, as many sockets share one
// unreadable directory.
func (au *audit) skip(p, why string) {
	au.nskipped++
	k := [2]string{path.Dir(p), why}
	if au.skipped[k] == 0 {
		au.skipOrder = append(au.skipOrder, k)
	}
	if au.skipped == nil {
		au.skipped = map[[2]string]int{}
	}
	au.skipped[k]++
}

// warnOnce warns unless the same line was given already: many sockets
// share one unreadable directory.
func (au *audit) warnOnce(format string, a ...any) {
	if s := fmt.Sprintf(format, a...); !slices.Contains(au.warnings, s) {
		au.warnings = append(au.warnings, s)
	}
}

// matches says whether p is audited: everything when neither patterns nor
// directories were given, else what matches one of them.
func (au *audit) matches(patterns []string, p string) bool {
	if len(patterns) == 0 && len(au.under) == 0 {
		return true
	}
	if len(patterns) > 0 && matchAny(patterns, p) {
		return true
	}
	if len(au.under) == 0 || !path.IsAbs(p) {
		return false
	}
	real := p
	if w, err := au.walk(path.Dir(p) + "/"); err == nil {
		real = path.Join(w.parent.path, path.Base(p))
	}
	for _, d := range au.under {
		for _, q := range []string{p, real} {
			if d == "/" || strings.HasPrefix(q, d+"/") {
				return true
			}
		}
	}
	return false
}

// add records a finding, merging the holders of findings for the same path
// and rule (two listeners on one path) and keeping the higher severity.
func (au *audit) add(f Finding) {
	k := findingKey{f.Path, f.Rule}
	old, ok := au.found[k]
	if !ok {
		au.found[k] = &f
		return
	}
	hs := slices.Concat(old.Holders, f.Holders)
	if f.Severity > old.Severity {
		*old = f
	}
	slices.SortFunc(hs, func(x, y Holder) int { return cmp.Or(cmp.Compare(x.PID, y.PID), cmp.Compare(x.FD, y.FD)) })
	old.Holders = slices.CompactFunc(hs, func(x, y Holder) bool { return x.PID == y.PID && x.FD == y.FD })
}

// foreignMountHolder is the first holder of e in a mount namespace other
// than ours, 0 when there is none.
func (au *audit) foreignMountHolder(e *Entry) int {
	if au.Resolver == nil {
		return 0
	}
	for _, h := range e.Holders {
		if h.PID > 0 && au.Resolver.MountRoot(h.PID) != "" {
			return h.PID
		}
	}
	return 0
}

// serverUIDs are the users a socket serves as: its known holders, else the
// socket's owner from the kernel, else the owner of its file, which is
// whoever bound it.
func serverUIDs(e *Entry) []uint32 {
	var uids []uint32
	for _, h := range e.Holders {
		if h.Known && !h.UIDUnknown && !slices.Contains(uids, h.UID) {
			uids = append(uids, h.UID)
		}
	}
	switch {
	case len(uids) > 0:
	case e.Known.Has(KnownUID):
		uids = []uint32{e.Socket.UID}
	case e.FileStatus == FileOK && e.File != nil:
		uids = []uint32{e.File.UID}
	}
	return uids
}

func (au *audit) entry(e *Entry) {
	uids := serverUIDs(e)
	// A datagram socket connected to a peer takes datagrams from that peer
	// only (unix_may_send), and its name going away is no outage: only
	// its directories matter.
	server := e.Listening() || e.Socket.Peer == 0
	switch e.FileStatus {
	case FileGone:
		if !server {
			return
		}
		au.add(Finding{
			Path: e.Path, Rule: RuleFileGone, Severity: SeverityMedium, Holders: e.Holders,
			Detail: "the socket file was deleted: clients cannot connect, and whoever may write " + path.Dir(e.Path) + " can take the name",
			Fix:    "restart the server so that it binds " + e.Path + " again",
		})
		return
	case FileReplaced:
		if server {
			au.replaced(e, uids)
		}
		return
	case FileOK:
	default:
		au.skip(e.Path, "the socket files could not be examined")
		return
	}
	w, err := au.walk(cmp.Or(e.FilePath, e.Path))
	// A holder in another mount namespace bound the path in its own file
	// tree, where the listing found the file (through /proc/PID/root).
	// The walk is of ours: when the path leads nowhere here, or to
	// another file, judging it would judge the wrong directories, and
	// staying silent would pass for a clean socket.
	if pid := au.foreignMountHolder(e); pid != 0 && e.FilePath == "" && (err != nil && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotDir)) ||
		err == nil && (w.sock == nil || e.File == nil || w.sock.ID.Key() != e.File.ID.Key())) {
		au.skip(e.Path, fmt.Sprintf("bound in the mount namespace of pid %d, whose directories the audit does not walk", pid))
		return
	}
	if err != nil {
		// Gone since the snapshot: a race, not a finding.
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrNotDir) {
			au.skip(e.Path, errpath.Strip(err).Error())
		}
		return
	}
	// The join proved e.File to be this socket's file; the walk's own
	// look at the path came a moment later.
	w.sock = e.File
	via := w.via()
	ids := au.identities(w, uids)
	reach := au.reachOf(w, ids, true)
	au.hijack(e.Path, w, ids, via, func(f *Finding) {
		f.Rule, f.Severity, f.Holders, f.Reach = RuleHijackable, SeverityHigh, e.Holders, reach
	})

	if !server || !slices.Contains(uids, 0) {
		return
	}
	ok, outWhy := au.connect(w, ids[0])
	if ok {
		au.add(Finding{
			Path: e.Path, Rule: RuleWorldReachable, Severity: SeverityHigh, Holders: e.Holders, Reach: reach,
			Detail: "every local user may talk to a root process: " + outWhy + via,
			Fix:    "chmod o-w " + cmp.Or(e.FilePath, e.Path) + " where the server creates it, and grant access through a dedicated group",
		})
		return
	}
	for _, id := range ids[1:] {
		if id.kind != identGroups {
			continue
		}
		if ok, why := au.connect(w, id); ok {
			au.add(Finding{
				Path: e.Path, Rule: RuleGroupReachable, Severity: SeverityMedium, Holders: e.Holders, Reach: reach,
				Detail: id.name + " may talk to a root process: " + why + "; everyone else is refused: " + outWhy + via,
				Fix:    "give " + cmp.Or(e.FilePath, e.Path) + ", or a directory above it, a group of just the users who need it, where the server creates it",
			})
			return
		}
	}
}

func (au *audit) replaced(e *Entry, uids []uint32) {
	f := Finding{Path: e.Path, Rule: RuleFileReplaced, Severity: SeverityMedium, Holders: e.Holders}
	what := "another file"
	if e.File != nil {
		what = fileKind(e.File.Mode) + " owned by " + rawName(e.File.Owner, e.File.UID)
		if e.File.UID != 0 && len(uids) > 0 && !slices.Contains(uids, e.File.UID) {
			f.Severity = SeverityHigh
			f.Detail = e.Path + " is now a " + what + ", not the server's socket: clients reach whatever " + rawName(e.File.Owner, e.File.UID) + " put there"
			f.Fix = "find out why " + rawName(e.File.Owner, e.File.UID) + " owns " + e.Path + ", remove it and restart the server"
			au.add(f)
			return
		}
		what = "a " + what
	}
	f.Detail = e.Path + " is now " + what + ": this server can no longer be reached by its path"
	f.Fix = "stop this server if it is a leftover, or restart it so that it binds " + e.Path + " again"
	au.add(f)
}

// hijack adds a finding when someone other than root and the servers may
// replace an entry the lookup of p goes through: the socket file, a
// directory or a symlink. They may then put their own socket at p.
func (au *audit) hijack(p string, w *walked, ids []ident, via string, fill func(*Finding)) {
	var facts []string
	var dirs []string
	for _, id := range ids {
		if id.server {
			continue
		}
		if e, ok, why := au.replaceWhere(w, id); ok {
			facts = append(facts, id.name+" may replace "+why)
			if !slices.Contains(dirs, e.dir.path) {
				dirs = append(dirs, e.dir.path)
			}
		}
	}
	if len(facts) == 0 {
		return
	}
	f := Finding{Path: p, Detail: strings.Join(facts, "; ") + via}
	f.Fix = "let no one but root and the server write " + strings.Join(dirs, " and ") + ", or move the socket to a directory only they may write on a path only they may change"
	fill(&f)
	au.add(f)
}

// reachOf is what each identity may do with the path; live says whether
// something listens there to connect to.
func (au *audit) reachOf(w *walked, ids []ident, live bool) []Access {
	out := make([]Access, 0, len(ids))
	for _, id := range ids {
		r := Access{Who: id.name, Class: [...]string{"everyone", "group", "owner"}[id.kind], Server: id.server}
		if live {
			ok, why := au.connect(w, id)
			r.Connect, r.ConnectBecause = &ok, why
		}
		r.Replace, r.ReplaceBecause = au.replace(w, id)
		out = append(out, r)
	}
	return out
}

// broad says why a group is broad, or "" when it is not.
func (au *audit) broad(gid uint32, name string) string {
	if broadGroupNames[name] {
		return "every user belongs to it by convention"
	}
	acc := au.readAccounts()
	if acc == nil {
		return ""
	}
	if n := len(acc.members[gid]); n >= BroadGroupMembers {
		return strconv.Itoa(n) + " accounts"
	}
	return ""
}

func (au *audit) readAccounts() *accounts {
	if !au.accRead {
		au.accRead = true
		var err error
		if au.accounts, err = readAccounts(au.GroupFile, au.PasswdFile); err != nil {
			au.warn("cannot count group members, only conventional groups count as broad and owners' groups are unknown: %v", err)
		}
	}
	return au.accounts
}

// stale reports socket files nothing is bound to in the audited sockets'
// directories, when someone other than root and the file's owner may
// replace them: they can then take the name that clients still look for.
// A resolver without Files (a capture's) has no files to look at.
func (au *audit) stale(ctx context.Context, snap *Snapshot, dirs, patterns []string) error {
	if len(dirs) == 0 || au.Resolver.Files == nil {
		return nil
	}
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	// The audit's snapshot stands in for the one FindStale would take, so
	// that both judge the same sockets and its warnings come once.
	quiet := *snap
	quiet.Warnings = nil
	rep, err := FindStale(ctx, snapshotSource{&quiet}, au.Resolver, StaleOptions{Dirs: dirs, MaxDepth: 1})
	if err != nil {
		return err
	}
	for _, w := range rep.Warnings {
		au.warnOnce("%s", w)
	}
	for _, f := range rep.Stale {
		if !au.matches(patterns, f.Path) {
			continue
		}
		w, err := au.walk(f.Path)
		if err != nil {
			continue
		}
		w.sock = &f.File
		au.Resolver.name(w.sock)
		ids := au.identities(w, []uint32{f.File.UID})
		au.hijack(f.Path, w, ids, w.via(), func(x *Finding) {
			x.Rule, x.Severity, x.Reach = RuleStaleName, SeverityLow, au.reachOf(w, ids, false)
			x.Detail = "stale socket file " + auditOwner(&f.File) + " (" + f.Reason + "): " + x.Detail
			x.Fix = "rm " + f.Path + ", and " + strings.TrimSuffix(x.Fix, ", or move the socket to a directory only they may write on a path only they may change")
		})
	}
	return nil
}

type snapshotSource struct{ snap *Snapshot }

func (s snapshotSource) Snapshot(context.Context) (*Snapshot, error) { return s.snap, nil }

// walked is the lookup of a path, as namei does it.
type walked struct {
	// steps are what the lookup does in order: search a directory for a
	// component, or follow a symlink.
	steps []walkStep
	// entries are the directory entries the lookup goes through, the
	// final one (the socket file) last: whoever may replace one of them
	// decides what the path names.
	entries []walkEntry
	// links are the symlinks followed, as "link -> target".
	links []string
	// parent is the directory that holds the final component.
	parent walkedDir
	// sock is the final component.
	sock *FileInfo
}

type walkedDir struct {
	path string // symlinks resolved
	fi   *FileInfo
}

type walkStep struct {
	// dir is searched (MAY_EXEC), or holds the symlink link.
	dir  walkedDir
	link *FileInfo
	// linkPath names the symlink, as the lookup met it.
	linkPath string
}

type walkEntry struct {
	dir  walkedDir
	name string
	fi   *FileInfo
}

func (e walkEntry) path() string { return path.Join(e.dir.path, e.name) }

// walk looks up the absolute path p as the kernel would, recording every
// directory searched, every symlink followed and every entry passed. The
// final component is examined, not followed.
func (au *audit) walk(p string) (*walked, error) {
	w := &walked{}
	n := namei{lstat: au.lstat, readlink: au.Readlink, w: w}
	dir, base := path.Split(p)
	cur, err := n.resolve(dir, true)
	if err != nil {
		return nil, err
	}
	w.parent = cur
	w.steps = append(w.steps, walkStep{dir: cur})
	if base != "" {
		fi, err := au.lstat(path.Join(cur.path, base))
		if err != nil {
			return nil, err
		}
		w.entries = append(w.entries, walkEntry{cur, base, fi})
		w.sock = fi
	}
	return w, nil
}

// lstat examines and names a file, once per audit.
func (au *audit) lstat(p string) (*FileInfo, error) {
	if fi, ok := au.files[p]; ok {
		return fi, nil
	}
	fi, err := au.Resolver.lstat(p)
	if err != nil {
		return nil, err
	}
	au.Resolver.name(fi)
	if au.files == nil {
		au.files = map[string]*FileInfo{}
	}
	au.files[p] = fi
	if au.HasACL != nil && fi.Mode.Type() != fs.ModeSymlink && au.HasACL(p) {
		au.warnOnce("%s has a POSIX ACL, which the audit does not read: who may reach or replace what is below it may differ from what it reports", p)
	}
	return fi, nil
}

// via names the symlinks the path goes through, as a detail suffix.
func (w *walked) via() string {
	if len(w.links) == 0 {
		return ""
	}
	return " (via symlink " + strings.Join(w.links, ", ") + ")"
}

// ident is a user as the kernel's permission checks see one: a uid and
// the groups it is in (fsgid and supplementary groups alike).
type ident struct {
	uid  uint32
	gids []uint32
	// name says who it stands for, in findings.
	name string
	kind identKind
	// server: the identity is one the socket serves as, whose access is
	// no finding.
	server bool
}

type identKind int

const (
	identEveryone identKind = iota // no owner of, nor group of, anything on the path
	identGroups                    // members of broad groups only
	identOwner                     // the owner of something on the path
)

// perm decides a permission check of generic_permission without ACLs:
// root passes (CAP_DAC_OVERRIDE); the owner is judged by the owner bits
// only, a member of the file's group by the group bits only, everyone
// else by the other bits. The owner may chmod what it owns, so owning a
// file counts as every permission on it. It says which class of bits
// decided.
func (id ident) perm(fi *FileInfo, want fs.FileMode) (bool, string) {
	m := fi.Mode.Perm()
	switch {
	case id.uid == 0:
		return true, "root"
	case fi.UID == id.uid:
		return true, "its owner"
	case slices.Contains(id.gids, fi.GID):
		return (m>>3)&want == want, "group " + rawName(fi.Group, fi.GID)
	}
	return m&want == want, "others"
}

const (
	permX = 0o1
	permW = 0o2
)

func describe(fi *FileInfo, p string) string {
	return p + " (" + OctalMode(fi.Mode) + " " + auditOwner(fi) + ")"
}

// connect decides whether id may connect(2) to the socket: search
// permission on every directory the lookup goes through, symlinks it may
// follow (protected_symlinks), and write permission on the socket file
// (unix_find_bsd). It says which component grants or refuses.
func (au *audit) connect(w *walked, id ident) (bool, string) {
	for _, s := range w.steps {
		if s.link != nil {
			if !au.mayFollow(id, s.dir.fi, s.link) {
				return false, "fs.protected_symlinks forbids following " + describe(s.link, s.linkPath) + " in sticky world-writable " + s.dir.path
			}
			continue
		}
		if ok, by := id.perm(s.dir.fi, permX); !ok {
			return false, describe(s.dir.fi, s.dir.path) + " gives " + by + " no search permission"
		}
	}
	sock := path.Join(w.parent.path, w.entries[len(w.entries)-1].name)
	ok, by := id.perm(w.sock, permW)
	if !ok {
		return false, "the socket file " + describe(w.sock, sock) + " gives " + by + " no write permission"
	}
	return true, "the socket file " + describe(w.sock, sock) + " gives " + by + " write permission and every directory above lets them search"
}

// mayFollow is may_follow_link: with fs.protected_symlinks, a symlink in a
// sticky world-writable directory is followed only by its owner, or when
// the directory's owner owns it too. Root is no exception.
func (au *audit) mayFollow(id ident, dir, link *FileInfo) bool {
	if !au.ProtectedSymlinks {
		return true
	}
	if link.UID == id.uid || dir.Mode&fs.ModeSticky == 0 || dir.Mode.Perm()&0o002 == 0 {
		return true
	}
	return dir.UID == link.UID
}

// replace decides whether id may replace an entry the lookup goes
// through: reach its directory by its own path (search permission on
// every directory above), write and search the directory (may_create,
// may_delete), and, in a sticky directory, own the entry or the directory
// (check_sticky). It names the first entry it may replace.
func (au *audit) replace(w *walked, id ident) (bool, string) {
	_, ok, why := au.replaceWhere(w, id)
	return ok, why
}

// replaceWhere is replace, with the entry that may be replaced.
func (au *audit) replaceWhere(w *walked, id ident) (walkEntry, bool, string) {
	why := ""
	for _, e := range w.entries {
		var ok bool
		if ok, why = au.replaceEntry(e, id); ok {
			return e, true, why
		}
	}
	// Refused everywhere: the socket file's reason is the one that says
	// most.
	return walkEntry{}, false, why
}

func (au *audit) replaceEntry(e walkEntry, id ident) (bool, string) {
	if au.mountRoot(e.path()) {
		return false, describe(e.fi, e.path()) + " is a mount point, which no one may rename or remove"
	}
	if ok, blocker := au.reach(e.dir, id); !ok {
		if blocker == nil {
			return false, "cannot examine the directories above " + e.dir.path
		}
		return false, describe(blocker.fi, blocker.path) + " gives them no search permission"
	}
	d := e.dir.fi
	if ok, by := id.perm(d, permW|permX); !ok {
		return false, describe(d, e.dir.path) + " gives " + by + " no write permission"
	}
	if d.Mode&fs.ModeSticky != 0 && id.uid != 0 && e.fi.UID != id.uid && d.UID != id.uid {
		return false, "the sticky bit of " + describe(d, e.dir.path) + " keeps them from " + describe(e.fi, e.path()) + ", which they do not own"
	}
	why := describe(e.fi, e.path()) + ": " + describe(d, e.dir.path) + " lets them write it"
	if d.Mode&fs.ModeSticky != 0 {
		why += ", and the sticky bit does not stop the owner of the entry or the directory"
	}
	return true, why
}

// mountRoot is MountRoot, once per path.
func (au *audit) mountRoot(p string) bool {
	if au.MountRoot == nil {
		return false
	}
	m, ok := au.mounts[p]
	if !ok {
		m = au.MountRoot(p)
		if au.mounts == nil {
			au.mounts = map[string]bool{}
		}
		au.mounts[p] = m
	}
	return m
}

// reach decides whether id may search its way to dir by dir's own path,
// symlinks resolved: it need not take the socket's path there. It returns
// the directory that refuses, nil when one could not be examined.
func (au *audit) reach(dir walkedDir, id ident) (bool, *walkedDir) {
	for p := dir.path; p != "/"; {
		p = path.Dir(p)
		fi, err := au.lstat(p)
		if err != nil {
			return false, nil
		}
		if ok, _ := id.perm(fi, permX); !ok {
			return false, &walkedDir{p, fi}
		}
	}
	return true, nil
}

// identities are the users whose access to the path the rules judge, in
// this order: everyone (a user who owns nothing on the path and is in
// none of its groups), then members of each combination of the broad
// groups on the path, then the owners (other than root) of what is on it
// with the groups the account files give them. A member of a group is
// judged by the group bits instead of the other bits, so belonging to
// more groups may grant less: each combination is its own identity.
func (au *audit) identities(w *walked, servers []uint32) []ident {
	var files []*FileInfo
	for _, s := range w.steps {
		files = append(files, s.dir.fi)
		if s.link != nil {
			files = append(files, s.link)
		}
	}
	for _, e := range w.entries {
		files = append(files, e.fi)
		for p := e.dir.path; p != "/"; {
			p = path.Dir(p)
			if fi, err := au.lstat(p); err == nil {
				files = append(files, fi)
			}
		}
	}
	if w.sock != nil {
		files = append(files, w.sock)
	}
	var owners []uint32
	var broad []uint32
	groupName := map[uint32]string{}
	for _, fi := range files {
		if fi.UID != 0 && !slices.Contains(owners, fi.UID) {
			owners = append(owners, fi.UID)
		}
		if _, ok := groupName[fi.GID]; !ok {
			groupName[fi.GID] = ""
			if why := au.broad(fi.GID, fi.Group); why != "" {
				groupName[fi.GID] = "group " + rawName(fi.Group, fi.GID) + " (" + why + ")"
				broad = append(broad, fi.GID)
			}
		}
	}
	slices.Sort(owners)
	slices.Sort(broad)
	// A uid that owns nothing on the path.
	out := uint32(1<<32 - 2)
	for slices.Contains(owners, out) {
		out--
	}
	ids := []ident{{uid: out, name: "everyone", kind: identEveryone}}
	for _, gids := range groupSets(broad) {
		var names []string
		for _, g := range gids {
			names = append(names, groupName[g])
		}
		name := "every member of " + names[0]
		if len(names) > 1 {
			name = "every member of all of " + strings.Join(names, ", ")
		}
		ids = append(ids, ident{uid: out, gids: gids, name: name, kind: identGroups})
	}
	acc := au.readAccounts()
	for _, uid := range owners {
		owner := ident{uid: uid, kind: identOwner, server: slices.Contains(servers, uid), name: rawName(au.Resolver.userName(uid), uid)}
		if acc != nil {
			owner.gids = acc.groupsOf(uid)
		}
		ids = append(ids, owner)
	}
	return ids
}

// groupSets are the combinations of gids, singles first; past a handful of
// groups the combinations are too many, and each alone is judged.
func groupSets(gids []uint32) [][]uint32 {
	if len(gids) > 4 {
		var sets [][]uint32
		for _, g := range gids {
			sets = append(sets, []uint32{g})
		}
		return sets
	}
	var sets [][]uint32
	for set := 1; set < 1<<len(gids); set++ {
		var s []uint32
		for i, g := range gids {
			if set&(1<<i) != 0 {
				s = append(s, g)
			}
		}
		sets = append(sets, s)
	}
	slices.SortStableFunc(sets, func(x, y []uint32) int { return cmp.Compare(len(x), len(y)) })
	return sets
}

// auditOwner and rawName give names as they are: findings carry data, and
// only the table escapes it.
func auditOwner(fi *FileInfo) string {
	return rawName(fi.Owner, fi.UID) + ":" + rawName(fi.Group, fi.GID)
}

func rawName(name string, id uint32) string {
	if name != "" {
		return name
	}
	return strconv.FormatUint(uint64(id), 10)
}

// accounts is who belongs to which group: the members a group file lists
// and the accounts whose primary group it is.
type accounts struct {
	members map[uint32]map[string]bool
	// names and primary are each uid's account name and primary group.
	names   map[uint32]string
	primary map[uint32]uint32
}

// groupsOf is the groups an account is in: its primary group and those
// that list it.
func (a *accounts) groupsOf(uid uint32) []uint32 {
	var gids []uint32
	if g, ok := a.primary[uid]; ok {
		gids = append(gids, g)
	}
	if name, ok := a.names[uid]; ok {
		for gid, m := range a.members {
			if m[name] && !slices.Contains(gids, gid) {
				gids = append(gids, gid)
			}
		}
	}
	slices.Sort(gids)
	return gids
}

func readAccounts(groupFile, passwdFile string) (*accounts, error) {
	g, err := os.Open(groupFile)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	p, err := os.Open(passwdFile)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return parseAccounts(g, groupFile, p, passwdFile)
}

// errAccountsMalformed is wrapped by every error about a line of a group
// or passwd file that does not have the fields group(5) and passwd(5) give.
var errAccountsMalformed = errors.New("malformed")

// parseAccounts reads group(5) and passwd(5) files; names are for errors.
func parseAccounts(group io.Reader, groupName string, passwd io.Reader, passwdName string) (*accounts, error) {
	a := &accounts{members: map[uint32]map[string]bool{}, names: map[uint32]string{}, primary: map[uint32]uint32{}}
	add := func(gid uint32, name string) {
		if a.members[gid] == nil {
			a.members[gid] = map[string]bool{}
		}
		a.members[gid][name] = true
	}
	// group: name:password:GID:member,member
	err := eachAccountLine(group, groupName, 4, 2, func(f []string, gid uint32) {
		for _, m := range strings.Split(f[3], ",") {
			if m != "" {
				add(gid, m)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	// passwd: name:password:UID:GID:GECOS:home:shell
	err = eachAccountLine(passwd, passwdName, 7, 3, func(f []string, gid uint32) {
		add(gid, f[0])
		if uid, err := strconv.ParseUint(f[2], 10, 32); err == nil {
			if _, ok := a.names[uint32(uid)]; !ok {
				a.names[uint32(uid)] = f[0]
				a.primary[uint32(uid)] = gid
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// eachAccountLine calls fn with the fields of each entry and the GID in
// field gidField. Comments, blank lines and NIS compat entries ("+", "-")
// are skipped, as the C library does.
func eachAccountLine(r io.Reader, name string, fields, gidField int, fn func(f []string, gid uint32)) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != fields {
			return fmt.Errorf("%s line %d: %w: %d fields, want %d: %q", name, n, errAccountsMalformed, len(f), fields, line)
		}
		gid, err := strconv.ParseUint(f[gidField], 10, 32)
		if err != nil {
			return fmt.Errorf("%s line %d: %w: gid %q: %v", name, n, errAccountsMalformed, f[gidField], errors.Unwrap(err))
		}
		fn(f, uint32(gid))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
