package inspect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/udsls/udsls/inspect/internal/text"
)

// Verdict is the outcome of a health check, one word per cause.
type Verdict string

const (
	VerdictUp        Verdict = "up"         // connected, and every expectation met
	VerdictMissing   Verdict = "missing"    // no such file (or a symlink to nothing)
	VerdictNotSocket Verdict = "not_socket" // a file of another kind
	VerdictStale     Verdict = "stale"      // a socket file nothing listens on
	VerdictDenied    Verdict = "denied"     // we may not connect or reach the path
	VerdictRefused   Verdict = "refused"    // a live socket is bound there but takes no connection
	VerdictTimeout   Verdict = "timeout"    // a listener whose backlog stayed full
	VerdictMismatch  Verdict = "mismatch"   // connected, but an expectation failed
	VerdictError     Verdict = "error"      // the check itself failed
)

// Expect is what a check requires beyond a successful connect. Nil and
// zero fields are not checked. File expectations apply to the file a
// client reaches: a symlink's target.
type Expect struct {
	Mode *uint32 // permission bits as chmod takes them, e.g. 0o660
	UID  *uint32
	GID  *uint32
	Type Type
}

// ParseMode reads an octal permission mode as chmod takes it: "660",
// "0660" or "0o660", at most 07777.
func ParseMode(s string) (uint32, error) {
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O")
	v, err := strconv.ParseUint(digits, 8, 32)
	if err != nil || digits == "" || strings.ContainsAny(digits, "+-") {
		return 0, fmt.Errorf("mode %q: want octal digits such as 0660", s)
	}
	if v > 0o7777 {
		return 0, fmt.Errorf("mode %q: larger than 07777", s)
	}
	return uint32(v), nil
}

// Mismatch is one failed expectation, with values as the reason shows
// them: an octal mode, a type name, a user or group name (the number when
// the id has no name).
type Mismatch struct {
	Field string `json:"field"` // "mode", "owner", "group" or "type"
	Want  string `json:"want"`
	Got   string `json:"got"`
}

// CheckResult is the verdict on one path.
type CheckResult struct {
	Path    string
	Verdict Verdict
	// Detail is the cause of the verdict in words; Reason adds the rest.
	Detail string
	// Type is the socket type that took the connection, or the listing's
	// type; 0 when unknown.
	Type Type
	// Target is where a symlink at Path leads ("" when Path is no symlink):
	// the fully resolved path, or the link text when it dangles.
	Target string
	// File is the socket file a client reaches (symlinks followed); nil
	// when there is none or for abstract names.
	File       *FileInfo
	Mismatches []Mismatch
	// Entry is what the listing knows about the socket bound to the file;
	// nil when unknown (not listed, another network namespace, no backend).
	Entry *Entry
}

// Healthy reports whether the socket took a connection and met every
// expectation.
func (r *CheckResult) Healthy() bool { return r.Verdict == VerdictUp }

// Reason is the full explanation: the cause, any failed expectations, and
// what the listing knows about who holds the socket.
func (r *CheckResult) Reason() string {
	parts := []string{r.Detail}
	if r.Verdict == VerdictTimeout && r.Entry != nil && r.Entry.Known.Has(KnownQueues) {
		parts[0] += fmt.Sprintf(" (%d pending, backlog %d)", r.Entry.RecvQueue, r.Entry.SendQueue)
	}
	for _, m := range r.Mismatches {
		parts = append(parts, fmt.Sprintf("%s is %s, want %s", m.Field, m.Got, m.Want))
	}
	if r.Entry != nil && r.Verdict == VerdictMissing {
		// The listing knows a socket bound by this name whose file was deleted: the
		// server lives, clients cannot reach it.
		parts = append(parts, "a "+r.Entry.State.String()+" socket bound to this path lives on, its file deleted (restart the server to recreate it)")
	}
	if r.Entry != nil && len(r.Entry.Holders) > 0 {
		parts = append(parts, "held by "+holderList(r.Entry.Holders))
	}
	return strings.Join(parts, "; ")
}

func holderList(hs []Holder) string {
	const most = 3
	var b strings.Builder
	for i, h := range hs {
		if i == most {
			fmt.Fprintf(&b, " and %d more", len(hs)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("pid " + strconv.Itoa(h.PID))
		if h.Known {
			b.WriteString(" (" + text.Escape(h.Command) + ")")
		}
	}
	return b.String()
}

// Checker judges socket paths by connecting to them: the connect is the
// proof, so a socket bound in another network namespace, absent from this
// one's listing, is still healthy. The function fields reach the system
// and are replaced in tests; NewChecker gives real defaults.
type Checker struct {
	// Timeout bounds each connect, so that a listener whose backlog is
	// full cannot hang the check.
	Timeout time.Duration
	Expect  Expect
	Probe   func(ctx context.Context, path string, timeout time.Duration) ProbeResult
	Lstat   func(path string) (*FileInfo, error)
	// EvalSymlinks resolves a symlinked path as filepath.EvalSymlinks
	// does, wrapping ErrNotDir where a component is not a directory.
	EvalSymlinks func(path string) (string, error)
	// Resolver names users and groups and joins the listing.
	Resolver *Resolver
	// UID and GID are the caller's effective ids, named when access is
	// denied.
	UID, GID int
}

// NewChecker returns a checker with a one-second connect timeout, probing
// with r.Probe and examining files with r.Lstat; platform/sys.NewChecker
// adds this machine's symlink resolution.
func NewChecker(r *Resolver) *Checker {
	return &Checker{
		Timeout:      time.Second,
		Probe:        ProbeFunc(r.Probe).do,
		Lstat:        r.Lstat,
		EvalSymlinks: filepath.EvalSymlinks,
		Resolver:     r,
		UID:          os.Geteuid(),
		GID:          os.Getegid(),
	}
}

// Wait checks every path, then, while some are unhealthy and d has not
// run out, checks those again at a growing interval (50ms doubling to 1s,
// bounded by the time left). Paths found healthy are not probed again: each
// probe is a connection the server sees. A zero d means one round. When ctx
// ends, Wait returns the last verdicts of the rounds that completed.
func (c *Checker) Wait(ctx context.Context, paths []string, d time.Duration) []CheckResult {
	deadline := time.Now().Add(d)
	results := make([]CheckResult, len(paths))
	pending := make([]int, len(paths))
	for i := range pending {
		pending[i] = i
	}
	interval := 50 * time.Millisecond
	for {
		timeout := c.Timeout
		if d > 0 {
			// The wait bounds the whole run, connects included.
			timeout = max(min(timeout, time.Until(deadline)), 10*time.Millisecond)
		}
		var still []int
		for _, i := range pending {
			r := c.check(ctx, paths[i], timeout)
			if ctx.Err() != nil && results[i].Verdict != "" {
				// Cancelled mid-probe: the earlier verdict says more.
				still = append(still, i)
				continue
			}
			results[i] = r
			if !r.Healthy() {
				still = append(still, i)
			}
		}
		pending = still
		left := time.Until(deadline)
		if len(pending) == 0 || d <= 0 || left <= 0 || ctx.Err() != nil {
			return results
		}
		t := time.NewTimer(min(interval, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return results
		case <-t.C:
		}
		interval = min(2*interval, time.Second)
	}
}

// Check judges one path once.
func (c *Checker) Check(ctx context.Context, path string) CheckResult {
	return c.check(ctx, path, c.Timeout)
}

func (c *Checker) check(ctx context.Context, p string, timeout time.Duration) CheckResult {
	r := CheckResult{Path: p}
	// An abstract name has no file: the connect alone decides.
	if !strings.HasPrefix(p, "@") {
		lstat := c.Lstat
		if lstat == nil {
			lstat = func(string) (*FileInfo, error) { return nil, errNoLstat }
		}
		fi, err := lstat(p)
		if err == nil && fi.Mode.Type() == fs.ModeSymlink {
			target, terr := c.EvalSymlinks(p)
			if terr != nil {
				r.Target, _ = os.Readlink(p)
				return c.fileFailure(r, terr, "symlink target")
			}
			r.Target = target
			fi, err = lstat(target)
		}
		if err != nil {
			return c.fileFailure(r, err, "")
		}
		c.Resolver.name(fi)
		r.File = fi
		if !fi.IsSocket() {
			r.Verdict, r.Detail = VerdictNotSocket, fileKind(fi.Mode)
			return r
		}
	}

	pr := c.Probe(ctx, p, timeout)
	r.Type = pr.Type
	switch pr.Reach {
	case ReachUp:
		r.Verdict = VerdictUp
		if r.Type == TypeDgram {
			r.Detail = "dgram socket bound and reachable"
		} else {
			r.Detail = r.Type.String() + " socket accepting connections"
		}
	case ReachRefused:
		if r.File == nil {
			// The kernel answers ECONNREFUSED for an abstract name nobody
			// holds: there is nothing to be stale.
			r.Verdict, r.Detail = VerdictMissing, "nothing is bound to the abstract name (connection refused)"
		} else {
			r.Verdict, r.Detail = VerdictStale, "socket file exists but nothing is listening (connection refused)"
		}
	case ReachDenied:
		r.Verdict = VerdictDenied
		r.Detail = "permission denied for " + c.self()
		if r.File != nil {
			r.Detail += fmt.Sprintf(": socket file is mode %s, owner %s:%s",
				OctalMode(r.File.Mode), text.NameOr(r.File.Owner, r.File.UID), text.NameOr(r.File.Group, r.File.GID))
		}
	case ReachNotListening:
		r.Verdict = VerdictRefused
		r.Detail = r.Type.String() + " socket is bound but not listening (connection refused)"
	case ReachBusy:
		r.Verdict = VerdictRefused
		r.Detail = "dgram socket is connected to another peer and takes datagrams from it alone (operation not permitted)"
	case ReachMissing:
		// The file went away between lstat and connect.
		r.Verdict, r.Detail = VerdictMissing, "no such file or directory"
	case ReachTimeout:
		r.Verdict = VerdictTimeout
		r.Detail = "listener's backlog is full: connect timed out after " + timeout.String()
	default:
		r.Verdict, r.Detail = VerdictError, "connect: "+pr.Err.Error()
	}
	r.Mismatches = c.compare(&r)
	if r.Verdict == VerdictUp && len(r.Mismatches) > 0 {
		r.Verdict = VerdictMismatch
		r.Detail = r.Type.String() + " socket reachable, but not as expected"
	}
	return r
}

// fileFailure turns a failed lstat or symlink resolution into a verdict.
// A non-empty link says the failure was in resolving a symlink.
func (c *Checker) fileFailure(r CheckResult, err error, link string) CheckResult {
	switch {
	case errors.Is(err, fs.ErrNotExist) && link != "":
		r.Verdict, r.Detail = VerdictMissing, link+" does not exist"
	case errors.Is(err, fs.ErrNotExist):
		r.Verdict, r.Detail = VerdictMissing, "no such file or directory"
	case errors.Is(err, ErrNotDir):
		r.Verdict, r.Detail = VerdictMissing, "a path component is not a directory"
	case errors.Is(err, fs.ErrPermission):
		r.Verdict, r.Detail = VerdictDenied, "permission denied for "+c.self()+": cannot search a directory on the path"
	default:
		r.Verdict, r.Detail = VerdictError, err.Error()
	}
	return r
}

func (c *Checker) self() string {
	return fmt.Sprintf("uid %s, gid %s",
		idName(c.Resolver.userName(uint32(c.UID)), c.UID), idName(c.Resolver.groupName(uint32(c.GID)), c.GID))
}

func idName(name string, id int) string {
	if name == "" {
		return strconv.Itoa(id)
	}
	return strconv.Itoa(id) + " (" + name + ")"
}

// fileKind names the type of a file, for checks and audit findings.
func fileKind(m fs.FileMode) string {
	switch m.Type() {
	case fs.ModeSocket:
		return "socket"
	case 0:
		return "regular file"
	case fs.ModeDir:
		return "directory"
	case fs.ModeNamedPipe:
		return "named pipe (FIFO)"
	case fs.ModeDevice:
		return "block device"
	case fs.ModeDevice | fs.ModeCharDevice:
		return "character device"
	case fs.ModeSymlink:
		return "symbolic link"
	}
	return "file of unknown type"
}

// compare lists the expectations the result fails. File expectations on
// an abstract name fail: there is no file to have a mode.
func (c *Checker) compare(r *CheckResult) []Mismatch {
	var ms []Mismatch
	e := c.Expect
	file := func(field, want, got string, same bool) {
		if r.File == nil {
			got, same = "none (abstract name, no file)", false
		}
		if !same {
			ms = append(ms, Mismatch{Field: field, Want: want, Got: got})
		}
	}
	fi := r.File
	if fi == nil {
		fi = &FileInfo{}
	}
	if e.Mode != nil {
		want := fmt.Sprintf("%04o", *e.Mode)
		file("mode", want, OctalMode(fi.Mode), want == OctalMode(fi.Mode))
	}
	if e.UID != nil {
		file("owner", text.NameOr(c.Resolver.userName(*e.UID), *e.UID), text.NameOr(fi.Owner, fi.UID), fi.UID == *e.UID)
	}
	if e.GID != nil {
		file("group", text.NameOr(c.Resolver.groupName(*e.GID), *e.GID), text.NameOr(fi.Group, fi.GID), fi.GID == *e.GID)
	}
	// The type is known only once something answered; an unanswered check
	// is unhealthy already.
	if e.Type != 0 && r.Type != 0 && r.Type != e.Type {
		ms = append(ms, Mismatch{Field: "type", Want: e.Type.String(), Got: r.Type.String()})
	}
	return ms
}

// WantsListing reports whether a listing could add to the results: only
// sockets have holders.
func WantsListing(results []CheckResult) bool {
	for i := range results {
		r := &results[i]
		if (r.File != nil && r.File.IsSocket()) || (r.File == nil && strings.HasPrefix(r.Path, "@")) || r.Verdict == VerdictMissing {
			return true
		}
	}
	return false
}

// Annotate adds what a snapshot knows to the results: the socket bound to
// each socket file (matched by file identity, so any spelling of the path
// matches) or abstract name, its holders and type.
func (c *Checker) Annotate(ctx context.Context, results []CheckResult, snap *Snapshot) {
	files := map[FileID]bool{}
	names := map[string]bool{}
	gone := map[string]bool{} // missing paths a live socket may still be bound by
	for i := range results {
		r := &results[i]
		switch {
		case r.File != nil && r.File.IsSocket():
			files[r.File.ID.Key()] = true
		case r.File == nil && strings.HasPrefix(r.Path, "@"):
			names[r.Path] = true
		case r.Verdict == VerdictMissing:
			gone[r.Path] = true
		}
	}
	if len(files) == 0 && len(names) == 0 && len(gone) == 0 {
		return
	}
	// Join only the sockets that can match, so that holders are looked up
	// for them alone.
	sub := *snap
	sub.Sockets = nil
	fileOf := map[SocketID]FileID{}
	for _, s := range snap.Sockets {
		switch {
		case s.Abstract:
			if names[s.Path] {
				sub.Sockets = append(sub.Sockets, s)
			}
		case !s.Filesystem():
		case gone[s.Path]:
			sub.Sockets = append(sub.Sockets, s)
		case s.Known.Has(KnownBound) && !s.Bound.IsZero():
			if files[s.Bound.Key()] {
				sub.Sockets = append(sub.Sockets, s)
				fileOf[s.ID] = s.Bound
			}
		default:
			// Without the kernel's bound identity, the path must still
			// name the same file now.
			if fi, err := c.Resolver.lstat(s.Path); err == nil && files[fi.ID.Key()] {
				sub.Sockets = append(sub.Sockets, s)
				fileOf[s.ID] = fi.ID
			}
		}
	}
	entries := c.Resolver.Entries(ctx, &sub, Query{})
	for i := range results {
		r := &results[i]
		for j := range entries {
			e := &entries[j]
			var match bool
			switch {
			case r.File != nil:
				id, ok := fileOf[e.ID]
				match = ok && id.Key() == r.File.ID.Key() && r.File.IsSocket()
			case strings.HasPrefix(r.Path, "@"):
				match = e.Abstract && e.Path == r.Path
			case r.Verdict == VerdictMissing:
				match = !e.Abstract && e.Path == r.Path && e.FileStatus == FileGone && (e.Listening() || e.Type == TypeDgram)
			}
			// Prefer a listener: an old bound socket may share the name.
			if match && (r.Entry == nil || (!r.Entry.Listening() && e.Listening())) {
				r.Entry = e
			}
		}
		if r.Entry != nil && r.Type == 0 {
			r.Type = r.Entry.Type
		}
		heldButRefused(r)
	}
}

// heldButRefused corrects a verdict the connect alone could not give: an
// abstract name is looked up per type (unix_abstract_hash mixes the type
// in), so a socket bound to one and not listening refuses every type as if
// nothing were bound, and only the listing shows it held.
func heldButRefused(r *CheckResult) {
	e := r.Entry
	if e == nil || e.Listening() || e.Type == TypeDgram || (r.Verdict != VerdictMissing && r.Verdict != VerdictStale) {
		return
	}
	if r.Verdict == VerdictMissing && r.File != nil {
		return
	}
	r.Verdict = VerdictRefused
	r.Detail = e.Type.String() + " socket is bound but not listening (connection refused)"
}
