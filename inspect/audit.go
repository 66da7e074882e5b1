package inspect

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
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
	"unicode/utf8"
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
}

// AuditReport is what Audit found.
type AuditReport struct {
	// Findings are sorted by severity (highest first), then path, then
	// rule; each (path, rule) appears once.
	Findings []Finding
	// Warnings are the snapshot's and the audit's own, one line each.
	Warnings []string
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
}

// NewAuditor returns an auditor of the live system, with procfs mounted at
// procRoot (Linux; ignored elsewhere).
func NewAuditor(procRoot string) *Auditor {
	return &Auditor{
		Resolver:   NewResolver(procRoot),
		Readlink:   os.Readlink,
		GroupFile:  "/etc/group",
		PasswdFile: "/etc/passwd",
	}
}

type findingKey struct{ path, rule string }

type audit struct {
	*Auditor
	found    map[findingKey]*Finding
	warnings []string
	accounts *accounts
	accRead  bool
}

// Audit examines every listening or bound filesystem socket of snap whose
// path matches one of patterns (all when none), as Query.Patterns matches,
// and the socket files nothing is bound to next to them, as FindStale
// judges them. The error is the stale search's (a cancelled context).
func (a *Auditor) Audit(ctx context.Context, snap *Snapshot, patterns []string) (*AuditReport, error) {
	au := &audit{Auditor: a, found: map[findingKey]*Finding{}}
	entries := a.Resolver.Entries(ctx, snap, Query{Patterns: patterns})
	audited, relative := 0, 0
	var dirs []string
	for i := range entries {
		e := &entries[i]
		// A bound stream socket that does not listen cannot be reached.
		if !e.Filesystem() || !(e.Listening() || e.Type == TypeDgram) {
			continue
		}
		if !path.IsAbs(e.Path) {
			// The directory a relative name was bound in is the binder's
			// working directory at that moment, which no one can know for
			// sure now.
			relative++
			continue
		}
		audited++
		dirs = append(dirs, path.Dir(e.Path))
		au.entry(e)
	}
	if err := au.stale(ctx, snap, dirs, patterns); err != nil {
		return nil, err
	}

	rep := &AuditReport{Warnings: slices.Clone(snap.Warnings)}
	if relative > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d sockets bound by a relative path were not audited", relative))
	}
	if len(patterns) > 0 && audited == 0 {
		rep.Warnings = append(rep.Warnings, "no filesystem socket matches the patterns; nothing was audited")
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
		au.warn("cannot audit %q: the socket file could not be examined", e.Path)
		return
	}
	w, err := au.walk(e.Path)
	if err != nil {
		// Gone since the snapshot: a race, not a finding.
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errNotDir) {
			au.warn("cannot audit %q: %v", e.Path, err)
		}
		return
	}
	via := w.via()
	au.hijack(e, w, uids, via)

	if !server || !slices.Contains(uids, 0) {
		return
	}
	mode := e.File.Mode.Perm()
	if mode&0o002 != 0 && w.searchable(func(d *FileInfo) bool { return d.Mode.Perm()&0o001 != 0 }) {
		au.add(Finding{
			Path: e.Path, Rule: RuleWorldReachable, Severity: SeverityHigh, Holders: e.Holders,
			Detail: "mode " + OctalMode(e.File.Mode) + " " + auditOwner(e.File) + " lets every local user talk to a root process; every directory above is searchable" + via,
			Fix:    "chmod o-w " + e.Path + " where the server creates it, and grant access through a dedicated group",
		})
		return
	}
	gid := e.File.GID
	if mode&0o020 == 0 || !w.searchable(func(d *FileInfo) bool {
		return d.Mode.Perm()&0o001 != 0 || (d.GID == gid && d.Mode.Perm()&0o010 != 0)
	}) {
		return
	}
	if why := au.broad(gid, e.File.Group); why != "" {
		au.add(Finding{
			Path: e.Path, Rule: RuleGroupReachable, Severity: SeverityMedium, Holders: e.Holders,
			Detail: "mode " + OctalMode(e.File.Mode) + " " + auditOwner(e.File) + " lets every member of group " + nameOr(e.File.Group, gid) + " (" + why + ") talk to a root process" + via,
			Fix:    "chgrp " + e.Path + " to a group of just the users who need it, where the server creates it",
		})
	}
}

func (au *audit) replaced(e *Entry, uids []uint32) {
	f := Finding{Path: e.Path, Rule: RuleFileReplaced, Severity: SeverityMedium, Holders: e.Holders}
	what := "another file"
	if e.File != nil {
		what = auditFileKind(e.File.Mode) + " owned by " + nameOr(e.File.Owner, e.File.UID)
		if e.File.UID != 0 && len(uids) > 0 && !slices.Contains(uids, e.File.UID) {
			f.Severity = SeverityHigh
			f.Detail = e.Path + " is now a " + what + ", not the server's socket: clients reach whatever " + nameOr(e.File.Owner, e.File.UID) + " put there"
			f.Fix = "find out why " + nameOr(e.File.Owner, e.File.UID) + " owns " + e.Path + ", remove it and restart the server"
			au.add(f)
			return
		}
		what = "a " + what
	}
	f.Detail = e.Path + " is now " + what + ": this server can no longer be reached by its path"
	f.Fix = "stop this server if it is a leftover, or restart it so that it binds " + e.Path + " again"
	au.add(f)
}

// hijack reports directories on the path that someone other than root and
// the server may write: they can rename or delete the socket (or a
// directory above it) and bind their own in its place.
func (au *audit) hijack(e *Entry, w *walked, uids []uint32, via string) {
	var facts []string
	fix := ""
	seen := map[string]bool{}
	for _, d := range w.dirs {
		if seen[d.path] {
			continue
		}
		seen[d.path] = true
		m := d.fi.Mode
		switch {
		case m.Perm()&0o002 != 0 && m&fs.ModeSticky == 0:
			facts = append(facts, d.path+" ("+OctalMode(m)+" "+auditOwner(d.fi)+") is writable by others without the sticky bit")
			fix = cmp.Or(fix, "chmod o-w "+d.path+" (or chmod +t), or move the socket to a directory only its server may write")
		case d.fi.UID != 0 && len(uids) > 0 && !slices.Contains(uids, d.fi.UID):
			facts = append(facts, d.path+" is owned by "+nameOr(d.fi.Owner, d.fi.UID)+", who does not run the server")
			fix = cmp.Or(fix, "move the socket to a directory owned by root or by its server")
		}
	}
	if len(facts) == 0 {
		return
	}
	au.add(Finding{
		Path: e.Path, Rule: RuleHijackable, Severity: SeverityHigh, Holders: e.Holders,
		Detail: strings.Join(facts, "; ") + ": the socket can be replaced by an impostor" + via,
		Fix:    fix,
	})
}

// broad says why a group is broad, or "" when it is not.
func (au *audit) broad(gid uint32, name string) string {
	if broadGroupNames[name] {
		return "every user belongs to it by convention"
	}
	if !au.accRead {
		au.accRead = true
		var err error
		if au.accounts, err = readAccounts(au.GroupFile, au.PasswdFile); err != nil {
			au.warn("cannot count group members, only conventional groups count as broad: %v", err)
		}
	}
	if au.accounts == nil {
		return ""
	}
	if n := len(au.accounts.members[gid]); n >= BroadGroupMembers {
		return strconv.Itoa(n) + " accounts"
	}
	return ""
}

// stale reports socket files nothing is bound to in the audited sockets'
// directories, when others may write the directory: anyone may then take
// the name that clients still look for.
func (au *audit) stale(ctx context.Context, snap *Snapshot, dirs, patterns []string) error {
	if len(dirs) == 0 {
		return nil
	}
	// The audit's snapshot stands in for the one FindStale would take, so
	// that both judge the same sockets and its warnings come once.
	quiet := *snap
	quiet.Warnings = nil
	rep, err := FindStale(ctx, snapshotSource{&quiet}, au.Resolver, StaleOptions{Dirs: dirs, MaxDepth: 1})
	if err != nil {
		return err
	}
	au.warnings = append(au.warnings, rep.Warnings...)
	for _, f := range rep.Stale {
		if len(patterns) > 0 && !matchAny(patterns, f.Path) {
			continue
		}
		w, err := au.walk(f.Path)
		if err != nil || w.parent.fi.Mode.Perm()&0o002 == 0 {
			continue
		}
		au.add(Finding{
			Path: f.Path, Rule: RuleStaleName, Severity: SeverityLow,
			Detail: "stale socket file " + auditOwner(&f.File) + " (" + f.Reason + ") in " + w.parent.path + " (" + OctalMode(w.parent.fi.Mode) + "), which others may write",
			Fix:    "rm " + f.Path + ", and have its server use a directory only it may write",
		})
	}
	return nil
}

type snapshotSource struct{ snap *Snapshot }

func (s snapshotSource) Snapshot(context.Context) (*Snapshot, error) { return s.snap, nil }

// walked is the lookup of a path's directories, as namei does it.
type walked struct {
	// dirs are the directories a lookup searches, "/" first; with ".."
	// a directory may appear twice.
	dirs []walkedDir
	// links are the symlinks followed, as "link -> target".
	links []string
	// parent is the directory that holds the final component.
	parent walkedDir
}

type walkedDir struct {
	path string // symlinks resolved
	fi   *FileInfo
}

var errSymlinkLoop = errors.New("too many levels of symbolic links")

// auditMaxSymlinks is the kernel's MAXSYMLINKS.
const auditMaxSymlinks = 40

// walk lstats every directory above the final component of the absolute
// path p, following symlinks as the kernel would and recording each one.
func (au *audit) walk(p string) (*walked, error) {
	root, err := au.Resolver.Lstat("/")
	if err != nil {
		return nil, err
	}
	au.Resolver.name(root)
	w := &walked{dirs: []walkedDir{{"/", root}}}
	cur := w.dirs[0]
	dir, _ := path.Split(p)
	todo := strings.Split(dir, "/")
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			// Every ancestor of cur was searched on the way down.
			up := path.Dir(cur.path)
			fi, err := au.Resolver.Lstat(up)
			if err != nil {
				return nil, err
			}
			au.Resolver.name(fi)
			cur = walkedDir{up, fi}
			continue
		}
		next := path.Join(cur.path, c)
		fi, err := au.Resolver.Lstat(next)
		if err != nil {
			return nil, err
		}
		switch {
		case fi.Mode.Type() == fs.ModeSymlink:
			if links++; links > auditMaxSymlinks {
				return nil, fmt.Errorf("%s: %w", next, errSymlinkLoop)
			}
			target, err := au.Readlink(next)
			if err != nil {
				return nil, err
			}
			w.links = append(w.links, next+" -> "+target)
			if path.IsAbs(target) {
				cur = w.dirs[0]
			}
			todo = append(strings.Split(target, "/"), todo...)
		case fi.Mode.IsDir():
			au.Resolver.name(fi)
			cur = walkedDir{next, fi}
			w.dirs = append(w.dirs, cur)
		default:
			return nil, fmt.Errorf("%s: %w", next, errNotDir)
		}
	}
	w.parent = cur
	return w, nil
}

// searchable reports whether every directory on the path passes ok.
func (w *walked) searchable(ok func(*FileInfo) bool) bool {
	for _, d := range w.dirs {
		if !ok(d.fi) {
			return false
		}
	}
	return true
}

// via names the symlinks the path goes through, as a detail suffix.
func (w *walked) via() string {
	if len(w.links) == 0 {
		return ""
	}
	return " (via symlink " + strings.Join(w.links, ", ") + ")"
}

func auditOwner(fi *FileInfo) string {
	return nameOr(fi.Owner, fi.UID) + ":" + nameOr(fi.Group, fi.GID)
}

func auditFileKind(m fs.FileMode) string {
	switch m.Type() {
	case fs.ModeSocket:
		return "socket"
	case fs.ModeSymlink:
		return "symlink"
	case fs.ModeDir:
		return "directory"
	case 0:
		return "regular file"
	}
	return "special file"
}

// accounts is who belongs to which group: the members a group file lists
// and the accounts whose primary group it is.
type accounts struct {
	members map[uint32]map[string]bool
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
	a := &accounts{members: map[uint32]map[string]bool{}}
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
	err = eachAccountLine(passwd, passwdName, 7, 3, func(f []string, gid uint32) { add(gid, f[0]) })
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

// AuditJSON is the document `udsls --audit -o json` prints. Like the
// listing's, its fields are added, never renamed or removed.
type AuditJSON struct {
	Findings []FindingJSON `json:"findings"`
	Warnings []string      `json:"warnings"`
}

// FindingJSON is one finding.
type FindingJSON struct {
	Path string `json:"path"`
	// PathBytes carries the exact path when it is not valid UTF-8.
	PathBytes []byte        `json:"path_bytes,omitempty"`
	Severity  Severity      `json:"severity"`
	Rule      string        `json:"rule"`
	Detail    string        `json:"detail"`
	Fix       string        `json:"fix"`
	Holders   []ProcessJSON `json:"holders"`
}

// WriteAuditJSON prints a report as one JSON document.
func WriteAuditJSON(w io.Writer, r *AuditReport) error {
	doc := AuditJSON{Findings: make([]FindingJSON, 0, len(r.Findings)), Warnings: r.Warnings}
	if doc.Warnings == nil {
		doc.Warnings = []string{}
	}
	for _, f := range r.Findings {
		j := FindingJSON{Path: f.Path, Severity: f.Severity, Rule: f.Rule, Detail: f.Detail, Fix: f.Fix, Holders: processesJSON(f.Holders)}
		if !utf8.ValidString(f.Path) {
			j.PathBytes = []byte(f.Path)
		}
		doc.Findings = append(doc.Findings, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

const ansiYellow = "\x1b[33m"

// WriteAuditTable prints a report as a table, nothing when there are no
// findings. Paths, names and the details that quote them pass through
// Escape.
func WriteAuditTable(w io.Writer, r *AuditReport, color bool) error {
	if len(r.Findings) == 0 {
		return nil
	}
	t := NewTable(w, []string{"SEVERITY", "RULE", "PATH", "PID/COMMAND", "USER", "DETAIL", "FIX"}, color)
	for _, f := range r.Findings {
		sev := f.Severity.String()
		if color && f.Severity == SeverityHigh {
			sev = ansiRed + sev + ansiReset
		} else if color && f.Severity == SeverityMedium {
			sev = ansiYellow + sev + ansiReset
		}
		pids, users, _ := holderCells(f.Holders)
		if err := t.Append([]string{sev, f.Rule, Escape(f.Path), pids, users, Escape(f.Detail), Escape(f.Fix)}); err != nil {
			return err
		}
	}
	return t.Render()
}
