package inspect

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udsls/udsls/internal/ascii"
)

// View chooses which sockets a listing shows before filters apply.
type View int

const (
	// ViewDefault shows the server side of things: listeners, and named
	// sockets that are not accepted connections.
	ViewDefault View = iota
	ViewAll
	ViewListening
)

// Query selects and shapes the entries of a listing.
type Query struct {
	View View
	// Patterns are shell globs (path.Match) matched against the path; a
	// pattern without a slash also matches the base name, as ripgrep's
	// globs do.
	Patterns []string
	PIDs     []int
	Users    []string // names or numeric uids of a holder
	Types    []Type
	Clients  bool // fill Entry.Clients
	// Containers are globs matched against the name and the id of a
	// holder's container (Container.Matches).
	Containers []string
	// Units are globs matched against the holders' systemd units.
	Units []string
}

// Filtered reports whether the query narrows the view, which turns an
// empty result into a "no" answer.
func (q *Query) Filtered() bool {
	return len(q.Patterns) > 0 || len(q.PIDs) > 0 || len(q.Users) > 0 || len(q.Types) > 0 || len(q.Containers) > 0 || len(q.Units) > 0
}

// ValidatePattern rejects a malformed glob before any work is done.
func ValidatePattern(p string) error {
	if _, err := path.Match(p, ""); err != nil {
		return errors.New("bad pattern " + strconv.Quote(p) + ": " + err.Error())
	}
	return nil
}

// Resolver joins snapshots into entries. The function fields reach the
// system and are replaced in tests; NewResolver gives real defaults.
type Resolver struct {
	// Process learns a holder's command and user.
	Process func(ctx context.Context, pid int) (Process, error)
	// Lstat examines a socket's path without following a final symlink.
	// Entries calls it, and Readlink, from several goroutines at once.
	Lstat func(path string) (*FileInfo, error)
	// UserName and GroupName name ids; "" when the id has no name.
	UserName  func(uid uint32) string
	GroupName func(gid uint32) string
	// ProcRoot lets relative bind paths be resolved through the holders'
	// current directories, and absolute ones through the root directories
	// of holders in another mount namespace.
	ProcRoot string
	// Readlink reads a symlink. It tells mount namespaces apart and
	// resolves symlinks inside a holder's root; nil does neither.
	Readlink func(path string) (string, error)
	// Container names the container a holder runs in, nil when none; a nil
	// func labels nothing.
	Container func(pid int) *Container
	// Service says what systemd told a holder: its unit and the names of
	// the descriptors it was passed; nil when nothing. A nil func tells
	// nothing.
	Service func(pid int) *Service
	// Probe connects to the socket at path, trying stream, seqpacket and
	// dgram in turn (a socket of another type answers EPROTOTYPE), and
	// closes the connection at once without sending anything. The timeout
	// bounds the wait on a listener whose backlog is full. It follows a
	// final symlink, as clients do; callers that must not follow one lstat
	// first. Stale-file detection and checks need it; a nil Probe proves
	// nothing (ReachError).
	Probe func(ctx context.Context, path string, timeout time.Duration) ProbeResult
	// Files is the file tree stale-file detection walks and removes from;
	// nil searches nothing.
	Files Files

	mu         sync.Mutex
	procs      map[int]*Process
	users      map[uint32]string
	groups     map[uint32]string
	containers map[int]*Container
	services   map[int]*Service
	roots      map[int]string
	selfMnt    *string
}

// Container is the container a process runs in, as its cgroup shows it,
// named by its runtime where the runtime tells. The names are the
// runtime's, untrusted: whoever starts a container chooses them.
type Container struct {
	ID      string // as the runtime names it: 64 hex digits
	Runtime string // docker, containerd, cri-o, podman, or kubepods when the runtime is not named
	// Name is the container's name ("" when unknown): docker's and
	// podman's without the leading slash, a Kubernetes container's name
	// within its pod.
	Name string
	// Pod and Namespace are a Kubernetes container's pod and namespace;
	// "" when unknown or not in Kubernetes.
	Pod       string
	Namespace string
	// UserCgroup says the cgroup lies under a user's service manager
	// (user@UserUID.service), where that user makes and names cgroups
	// (a rootless container, or a scope named like anyone's container):
	// only a runtime of that user may name it.
	UserCgroup bool
	UserUID    uint32
}

// Matches reports whether a --container pattern names c: a glob
// (path.Match) matched against its name or its id, or a prefix of its
// id, as docker takes a short id.
func (c *Container) Matches(pattern string) bool {
	if c.Name != "" {
		if ok, _ := path.Match(pattern, c.Name); ok {
			return true
		}
	}
	ok, _ := path.Match(pattern+"*", c.ID)
	return ok
}

// Service is what systemd tells of a process: the unit its cgroup names,
// and the descriptors it was passed by socket activation.
type Service struct {
	Unit string
	// FDNames are the names of passed descriptors by number (LISTEN_FDNAMES:
	// fd 3 is the first); nil when there are none or they are unknown.
	FDNames map[int]string
}

// NewResolver returns a resolver with procfs mounted at procRoot (Linux;
// ignored elsewhere) that reads symlinks. It leaves Process, Lstat,
// UserName, GroupName, Probe and Files nil: platform/sys.NewResolver adds
// this machine's processes, files, account names and connect probe.
func NewResolver(procRoot string) *Resolver {
	return &Resolver{ProcRoot: procRoot, Readlink: os.Readlink}
}

// NewCaptureResolver returns a resolver for a capture taken on another
// machine: it knows only what the capture says, and looks up no local
// process, file or user, since this machine's would be someone else's.
func NewCaptureResolver() *Resolver { return &Resolver{} }

func (r *Resolver) userName(uid uint32) string {
	if r.UserName == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.users == nil {
		r.users = map[uint32]string{}
	}
	n, ok := r.users[uid]
	if !ok {
		n = r.UserName(uid)
		r.users[uid] = n
	}
	return n
}

func (r *Resolver) groupName(gid uint32) string {
	if r.GroupName == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.groups == nil {
		r.groups = map[uint32]string{}
	}
	n, ok := r.groups[gid]
	if !ok {
		n = r.GroupName(gid)
		r.groups[gid] = n
	}
	return n
}

// process returns what is known of pid, nil when it vanished or could not
// be read. Results are cached for the resolver's lifetime.
func (r *Resolver) process(ctx context.Context, snap *Snapshot, pid int) *Process {
	r.mu.Lock()
	if r.procs == nil {
		r.procs = map[int]*Process{}
	}
	p, ok := r.procs[pid]
	r.mu.Unlock()
	if ok {
		return p
	}
	if sp, ok := snap.Processes[pid]; ok {
		p = &sp
	} else if r.Process == nil {
		// A capture from another machine: this machine's pids are not its.
	} else if got, err := r.Process(ctx, pid); err == nil {
		p = &got
	}
	if p != nil && p.User == "" && !p.UIDUnknown {
		p.User = r.userName(p.UID)
	}
	r.mu.Lock()
	r.procs[pid] = p
	r.mu.Unlock()
	return p
}

// identity is what ties accepted connections to their listener: the bound
// file where the kernel told us, else the name. A file needs no
// namespace: a client reaches it from any, and its accepted end is made in
// the client's (unix_stream_connect creates it in sock_net of the
// connecting socket). An abstract name is looked up in the client's
// namespace, so the same name in two is two listeners; so is one abstract
// name bound by sockets of two types (the kernel hashes the type in,
// unix_abstract_hash).
type identity struct {
	file  FileID
	name  string
	netns uint64
	typ   Type
}

func identityOf(s *Socket) identity {
	switch {
	case s.Known.Has(KnownBound) && !s.Bound.IsZero():
		return identity{file: s.Bound.Key()}
	case s.Abstract:
		return identity{name: s.Path, netns: s.Netns, typ: s.Type}
	}
	// A file name without the file's identity (procfs): its clients, and
	// so its accepted ends, may be in any namespace, and so may another
	// listener of the same name; which is whose is unknown.
	return identity{name: s.Path, typ: s.Type}
}

// countsKnown reports whether the connections counted for listener s are
// its own. Without the bound file's identity (procfs) connections are
// matched by name, which is ambiguous when two listeners share it (an old
// and a new one after a replace, one in a private mount namespace) or
// the name is relative (each binder resolved it in its own directory).
func (j *join) countsKnown(s *Socket) bool {
	switch id := identityOf(s); {
	case id.name == "":
		return true
	case j.shared[id]:
		return false
	}
	return s.Abstract || path.IsAbs(s.Path)
}

// Entries joins a snapshot into the entries q selects, sorted by path, then
// holder pid, then id. Once ctx is done it stops and returns nil: callers
// that may be cancelled check ctx, since nothing is not an answer.
func (r *Resolver) Entries(ctx context.Context, snap *Snapshot, q Query) []Entry {
	j, sel := r.selectSockets(ctx, snap, q)
	b := newEntryBuf(len(sel))
	for i, s := range sel {
		if i%entryChunk == 0 && ctx.Err() != nil {
			return nil
		}
		j.entry(s, b)
	}
	if !r.examineFiles(ctx, b.es) {
		return nil
	}
	return b.es
}

// entryChunk is how many entries EachEntry builds at a time.
const entryChunk = 512

// EachEntry calls fn with each entry Entries would return, in the same
// order, and stops at fn's first error. The entry is valid only during
// the call. Output written entry by entry needs neither the memory of the
// whole list nor the wait for it: entries are built a chunk at a time on
// every CPU while fn takes them in order, in buffers reused once fn is
// done with them. Once ctx is done it stops and returns ctx's error.
func (r *Resolver) EachEntry(ctx context.Context, snap *Snapshot, q Query, fn func(*Entry) error) error {
	j, sel := r.selectSockets(ctx, snap, q)
	chunks := (len(sel) + entryChunk - 1) / entryChunk
	builders := max(1, min(runtime.GOMAXPROCS(0), chunks))
	// A buffer for each builder, one for fn and one to spare.
	free := make(chan *entryBuf, builders+2)
	for range cap(free) {
		free <- newEntryBuf(entryChunk)
	}
	built := make([]chan *entryBuf, chunks)
	for k := range built {
		built[k] = make(chan *entryBuf, 1)
	}
	var next atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range builders {
		wg.Go(func() {
			for {
				var b *entryBuf
				select {
				case b = <-free:
				case <-stop:
					return
				}
				// A builder claims a chunk only once it has a buffer, so
				// the first chunk fn waits for is always being built.
				k := int(next.Add(1) - 1)
				if k >= chunks {
					free <- b
					return
				}
				b.reset()
				// A cancelled chunk is handed on empty: fn's loop stops
				// at it, and the builders at their next chunk.
				if ctx.Err() == nil {
					for _, s := range sel[k*entryChunk : min((k+1)*entryChunk, len(sel))] {
						j.entry(s, b)
					}
					r.examineFiles(ctx, b.es)
				}
				built[k] <- b
			}
		})
	}
	var err error
	for k := 0; k < chunks && err == nil; k++ {
		b := <-built[k]
		if err = ctx.Err(); err != nil {
			close(stop)
			free <- b
			break
		}
		for i := range b.es {
			if err = fn(&b.es[i]); err != nil {
				close(stop)
				break
			}
		}
		free <- b
	}
	wg.Wait()
	return err
}

// entryBuf holds entries with their holders and peers, so that a chunk of
// them is one reusable piece of memory rather than many small objects.
type entryBuf struct {
	es      []Entry
	peers   []Peer     // Remote of es; one at most per entry, so never regrown
	holders []Holder   // the block holders are taken from
	used    [][]Holder // blocks filled since the last reset
	spare   [][]Holder // blocks free for reuse
}

func newEntryBuf(n int) *entryBuf {
	return &entryBuf{es: make([]Entry, 0, n), peers: make([]Peer, 0, n)}
}

func (b *entryBuf) reset() {
	clear(b.es)
	clear(b.peers)
	b.es, b.peers = b.es[:0], b.peers[:0]
	if b.holders != nil {
		b.used = append(b.used, b.holders)
	}
	for _, blk := range b.used {
		b.spare = append(b.spare, blk[:0])
	}
	b.holders, b.used = nil, b.used[:0]
}

// takeHolders returns room for n holders.
func (b *entryBuf) takeHolders(n int) []Holder {
	if cap(b.holders)-len(b.holders) < n {
		if b.holders != nil {
			b.used = append(b.used, b.holders)
		}
		if k := len(b.spare); k > 0 && cap(b.spare[k-1]) >= n {
			b.holders, b.spare = b.spare[k-1], b.spare[:k-1]
		} else {
			b.holders = make([]Holder, 0, max(n, 1024))
		}
	}
	i := len(b.holders)
	b.holders = b.holders[:i+n]
	return b.holders[i : i+n : i+n]
}

// selectSockets picks the sockets q shows and sorts them, so that only
// those are resolved, and the sort moves pointers rather than entries.
func (r *Resolver) selectSockets(ctx context.Context, snap *Snapshot, q Query) (*join, []*Socket) {
	j := &join{r: r, ctx: ctx, snap: snap, q: q}
	byID := make(map[SocketID]int32, len(snap.Sockets))
	for i := range snap.Sockets {
		byID[snap.Sockets[i].ID] = int32(i)
	}
	// The owners' index and the listeners' maps are independent.
	var indexed sync.WaitGroup
	indexed.Go(func() { j.owners = indexOwners(snap.Owners, byID, len(snap.Sockets)) })
	// A listener's accepted connections share its identity: the map
	// counts them, and they are listed only when clients are shown.
	n := 0
	for i := range snap.Sockets {
		if snap.Sockets[i].State == StateListening {
			n++
		}
	}
	j.listeners = make(map[identity]int, n)
	j.shared = map[identity]bool{}
	for i := range snap.Sockets {
		s := &snap.Sockets[i]
		if s.State == StateListening && s.Named() {
			id := identityOf(s)
			if _, ok := j.listeners[id]; ok {
				j.shared[id] = true
			}
			j.listeners[id] = 0
		}
	}
	// /proc/net/unix lists a connection not yet accepted as an inode-0
	// socket carrying the listener's name: it is neither accepted nor a
	// server of its own, only part of the listener's pending count, and
	// is never a row; nor is an unnamed one, a socket being released.
	embryo := func(s *Socket) bool { return s.ID == 0 }
	accepted := func(s *Socket) bool {
		if !s.Named() || s.ID == 0 || s.Type == TypeDgram || s.State == StateListening {
			return false
		}
		_, ok := j.listeners[identityOf(s)]
		return ok
	}
	if q.Clients {
		j.children = map[identity][]*Socket{}
	}
	j.peersOf = map[SocketID][]*Socket{}
	for i := range snap.Sockets {
		s := &snap.Sockets[i]
		if accepted(s) {
			j.listeners[identityOf(s)]++
			if q.Clients {
				j.children[identityOf(s)] = append(j.children[identityOf(s)], s)
			}
		}
		if s.Type == TypeDgram && s.Peer != 0 {
			j.peersOf[s.Peer] = append(j.peersOf[s.Peer], s)
		}
	}

	pidSet := map[int]bool{}
	for _, p := range q.PIDs {
		pidSet[p] = true
	}
	indexed.Wait()
	// A socket's first holder is its owner with the lowest pid, as
	// indexOwners orders them.
	// 16 bytes, not 24: the sort moves it about, and makes a copy of all.
	type selected struct {
		s    *Socket
		rank int32 // of the path among the selected paths
		pid  int32 // of the first holder, -1 for none
	}
	sel := make([]selected, 0, len(snap.Sockets))
	for i := range snap.Sockets {
		s := &snap.Sockets[i]
		if embryo(s) {
			continue
		}
		switch q.View {
		case ViewDefault:
			if s.State != StateListening && (!s.Named() || accepted(s)) {
				continue
			}
		case ViewListening:
			if s.State != StateListening {
				continue
			}
		}
		if len(q.Types) > 0 && !slices.Contains(q.Types, s.Type) {
			continue
		}
		if len(q.Patterns) > 0 && !matchAny(q.Patterns, s.Path) {
			continue
		}
		own := j.owners.of(s.ID)
		if len(pidSet) > 0 && !slices.ContainsFunc(own, func(o Owner) bool { return pidSet[o.PID] }) {
			continue
		}
		pid := int32(-1)
		if len(own) > 0 {
			pid = int32(own[0].PID)
		}
		sel = append(sel, selected{s: s, pid: pid})
	}
	// Comparing paths is the dearest part of the sort, and accepted
	// connections repeat their listener's: sort each path once.
	ranks := make(map[string]int, len(j.listeners)+1)
	for _, c := range sel {
		ranks[c.s.Path] = 0
	}
	paths := sortFunc(slices.Collect(maps.Keys(ranks)), ComparePaths)
	for i, p := range paths {
		ranks[p] = i
	}
	for i := range sel {
		sel[i].rank = int32(ranks[sel[i].s.Path])
	}
	sel = sortFunc(sel, func(a, b selected) int {
		if a.rank != b.rank {
			return cmp.Compare(a.rank, b.rank)
		}
		if a.pid != b.pid {
			return cmp.Compare(a.pid, b.pid)
		}
		return cmp.Compare(a.s.ID, b.s.ID)
	})
	socks := make([]*Socket, len(sel))
	for i, c := range sel {
		socks[i] = c.s
	}
	return j, socks
}

// entry resolves one selected socket, all but its file, into b, unless
// the user filter rejects it.
func (j *join) entry(s *Socket, b *entryBuf) {
	hs := j.holders(j.owners.of(s.ID), b)
	if len(j.q.Users) > 0 && !matchUsers(j.q.Users, hs) {
		return
	}
	if len(j.q.Containers) > 0 && !j.r.matchContainers(j.q.Containers, hs) {
		return
	}
	if len(j.q.Units) > 0 && !MatchUnits(j.q.Units, hs) {
		return
	}
	e := Entry{Socket: *s, Holders: hs}
	e.Container = j.r.container(e.Holders)
	e.SocketActivated = socketActivated(&e)
	if s.State == StateListening {
		e.Connections = j.listeners[identityOf(s)]
		e.ConnectionsUnknown = !j.countsKnown(s)
	} else if s.Type == TypeDgram {
		e.Connections = len(j.peersOf[s.ID])
		// Who is connected to a datagram socket shows only in peers.
		e.ConnectionsUnknown = !s.Known.Has(KnownPeer)
	}
	if s.Peer != 0 {
		b.peers = append(b.peers, j.peer(s.Peer, b))
		e.Remote = &b.peers[len(b.peers)-1]
	}
	if j.q.Clients {
		e.Clients = j.clients(s, j.children[identityOf(s)], j.peersOf[s.ID], b)
	}
	b.es = append(b.es, e)
}

// sortFunc sorts s as slices.SortFunc does, a long s in two halves on two
// CPUs and then merged into a new slice, which it returns.
func sortFunc[T any](s []T, cmp func(a, b T) int) []T {
	if len(s) < 4096 || runtime.GOMAXPROCS(0) < 2 {
		slices.SortFunc(s, cmp)
		return s
	}
	a, b := s[:len(s)/2], s[len(s)/2:]
	var wg sync.WaitGroup
	wg.Go(func() { slices.SortFunc(a, cmp) })
	slices.SortFunc(b, cmp)
	wg.Wait()
	out := make([]T, 0, len(s))
	for len(a) > 0 && len(b) > 0 {
		if cmp(b[0], a[0]) < 0 {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}

// ownerIndex finds a socket's owners, in pid, then fd order, in one
// sorted slice, and the snapshot's sockets by ID: a map to a slice for
// each socket would cost twice the memory, and a map to where each
// socket's owners start 2.2 MB at 50k sockets, where an array beside the
// sockets costs 0.2.
type ownerIndex struct {
	sorted []Owner
	byID   map[SocketID]int32 // a socket's index in the snapshot
	first  []int32            // by that index, where its owners start in sorted; -1 for none
	other  map[SocketID]int32 // the same for sockets the snapshot lacks
}

// SortOwners orders owners as a listing looks them up: by socket, then
// pid, then fd. The resolver indexes owners so ordered where they are and
// sorts a copy of any others, so that a source which sorts its owners (on
// a CPU of its own while it lists the sockets) spares every listing that
// copy, 1.7 MB at 50k sockets.
func SortOwners(owners []Owner) { slices.SortFunc(owners, compareOwners) }

func compareOwners(a, b Owner) int {
	if a.ID != b.ID {
		return cmp.Compare(a.ID, b.ID)
	}
	if a.PID != b.PID {
		return a.PID - b.PID
	}
	return a.FD - b.FD
}

// indexOwners indexes owners for the snapshot's sockets, whose indices
// byID gives.
func indexOwners(all []Owner, byID map[SocketID]int32, sockets int) ownerIndex {
	x := ownerIndex{sorted: all, byID: byID, first: make([]int32, sockets), other: map[SocketID]int32{}}
	if !slices.IsSortedFunc(all, compareOwners) {
		x.sorted = slices.Clone(all)
		SortOwners(x.sorted)
	}
	for i := range x.first {
		x.first[i] = -1
	}
	for i := range x.sorted {
		id := x.sorted[i].ID
		if i > 0 && x.sorted[i-1].ID == id {
			continue
		}
		if k, ok := byID[id]; ok {
			x.first[k] = int32(i)
		} else {
			x.other[id] = int32(i)
		}
	}
	return x
}

// socket returns the snapshot's socket id.
func (x *ownerIndex) socket(snap *Snapshot, id SocketID) (*Socket, bool) {
	k, ok := x.byID[id]
	if !ok {
		return nil, false
	}
	return &snap.Sockets[k], true
}

func (x *ownerIndex) of(id SocketID) []Owner {
	i := int32(-1)
	if k, ok := x.byID[id]; ok {
		i = x.first[k]
	} else if o, ok := x.other[id]; ok {
		i = o
	}
	if i < 0 {
		return nil
	}
	n := int(i) + 1
	for n < len(x.sorted) && x.sorted[n].ID == id {
		n++
	}
	return x.sorted[i:n:n]
}

// join is what Entries works from.
type join struct {
	r         *Resolver
	ctx       context.Context
	snap      *Snapshot
	q         Query
	owners    ownerIndex
	listeners map[identity]int       // a listener's accepted connections, counted
	shared    map[identity]bool      // identities of more than one listener
	children  map[identity][]*Socket // and listed, with Query.Clients
	peersOf   map[SocketID][]*Socket // the sockets connected to a datagram socket
}

func (j *join) holders(owners []Owner, b *entryBuf) []Holder {
	if len(owners) == 0 {
		return nil
	}
	hs := b.takeHolders(len(owners))
	for i, o := range owners {
		hs[i] = Holder{PID: o.PID, FD: o.FD}
		if p := j.r.process(j.ctx, j.snap, o.PID); p != nil {
			hs[i].Command, hs[i].User, hs[i].UID, hs[i].Known = p.Command, p.User, p.UID, true
			hs[i].UIDUnknown = p.UIDUnknown
		}
		if sv := j.r.service(o.PID); sv != nil {
			hs[i].Unit, hs[i].FDName = sv.Unit, sv.FDNames[o.FD]
		}
	}
	return hs
}

func (j *join) peer(id SocketID, b *entryBuf) Peer {
	p := Peer{ID: id, Holders: j.holders(j.owners.of(id), b)}
	if ps, ok := j.owners.socket(j.snap, id); ok {
		p.Path = ps.Path
	}
	return p
}

// clients lists the far ends of a listener's or bound datagram socket's
// connections, including those still waiting to be accepted.
func (j *join) clients(s *Socket, children, dgramPeers []*Socket, b *entryBuf) []Peer {
	var ids []SocketID
	if s.State == StateListening {
		for _, c := range children {
			if c.Peer != 0 {
				ids = append(ids, c.Peer)
			}
		}
		for _, ic := range s.Icons {
			if ic != 0 {
				ids = append(ids, ic)
			}
		}
	} else {
		for _, c := range dgramPeers {
			ids = append(ids, c.ID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make([]Peer, 0, len(ids))
	for _, id := range ids {
		out = append(out, j.peer(id, b))
	}
	return out
}

// examineFiles lstats the entries' paths, the one syscall per shown socket
// the join makes, spread over the CPUs, and says whether it finished before
// ctx was done. Sorted by path, an accepted
// connection comes right after its listener, so each goroutine reuses its
// last lstat for the next entry of the same path.
func (r *Resolver) examineFiles(ctx context.Context, es []Entry) bool {
	if r.Lstat == nil || len(es) == 0 {
		return ctx.Err() == nil
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), len(es)/512))
	examine := func(part []Entry) {
		var m lstatMemo
		for i := range part {
			if i%entryChunk == 0 && ctx.Err() != nil {
				return
			}
			r.examineFile(&part[i], &m)
		}
	}
	if workers == 1 {
		examine(es)
		return ctx.Err() == nil
	}
	var wg sync.WaitGroup
	for part := range slices.Chunk(es, (len(es)+workers-1)/workers) {
		wg.Go(func() { examine(part) })
	}
	wg.Wait()
	return ctx.Err() == nil
}

// lstatMemo is the last lstat one goroutine made.
type lstatMemo struct {
	root, path string
	fi         *FileInfo
	err        error
}

func (m *lstatMemo) lstatIn(r *Resolver, root, p string) (*FileInfo, error) {
	if (m.fi != nil || m.err != nil) && m.root == root && m.path == p {
		return m.fi, m.err // shared, as Container is: no one changes them
	}
	m.root, m.path = root, p
	m.fi, m.err = r.lstatIn(root, p)
	return m.fi, m.err
}

func (r *Resolver) examineFile(e *Entry, m *lstatMemo) {
	if !e.Filesystem() {
		return
	}
	p := e.Path
	if !filepath.IsAbs(p) {
		e.FileStatus = FileRelative
		if !e.Known.Has(KnownBound) || r.ProcRoot == "" {
			return
		}
		// The kernel kept the bound file's identity: find the file through
		// a holder's current directory, which is where bind resolved it
		// unless the process has moved since.
		for _, h := range e.Holders {
			fi, err := r.Lstat(filepath.Join(r.ProcRoot, strconv.Itoa(h.PID), "cwd", p))
			if err == nil && fi.ID.Key() == e.Bound.Key() {
				r.name(fi)
				e.File, e.FileStatus = fi, FileOK
				// Where it is, for the audit; the identity proves it
				// again, as the directory may have moved meanwhile.
				if cwd, err := filepath.EvalSymlinks(filepath.Join(r.ProcRoot, strconv.Itoa(h.PID), "cwd")); err == nil && filepath.IsAbs(cwd) {
					real := filepath.Join(cwd, p)
					if fi, err := r.Lstat(real); err == nil && fi.ID.Key() == e.Bound.Key() {
						e.FilePath = real
					}
				}
				return
			}
		}
		return
	}
	if rest, ok := procSelfRest(p); ok {
		r.examineProcSelf(e, rest)
		return
	}
	fi, err := r.lstatAsHolders(e, p, m)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotDir):
		e.FileStatus = FileGone
		return
	case err != nil:
		e.FileStatus = FileUnknown
		return
	}
	r.name(fi)
	e.File = fi
	switch {
	case !fi.IsSocket():
		e.FileStatus = FileReplaced
	case e.Known.Has(KnownBound) && !e.Bound.IsZero() && fi.ID.Key() != e.Bound.Key():
		e.FileStatus = FileReplaced
	default:
		e.FileStatus = FileOK
	}
}

// procSelfRest splits a path through /proc/self or /proc/thread-self,
// which bind resolved as the binder ("/proc/self/fd/3/x.sock", the way
// past the 107 bytes of sun_path): to us it names our own descriptors.
func procSelfRest(p string) (string, bool) {
	for _, pre := range []string{"/proc/self/", "/proc/thread-self/"} {
		// Not cleaned: "cwd/../x" is the parent of the binder's directory.
		if rest, ok := strings.CutPrefix(p, pre); ok {
			return rest, true
		}
	}
	return "", false
}

// examineProcSelf finds the file of a socket bound through /proc/self as
// a holder sees it: where its descriptor or directory leads now, proven by
// the bound file's identity. Without that proof the file is unknown, never
// gone: our own /proc/self says nothing about the binder's.
func (r *Resolver) examineProcSelf(e *Entry, rest string) {
	e.FileStatus = FileUnknown
	if !e.Known.Has(KnownBound) || e.Bound.IsZero() || r.ProcRoot == "" {
		return
	}
	for _, h := range e.Holders {
		q := r.ProcRoot + "/" + strconv.Itoa(h.PID) + "/" + rest
		i := strings.LastIndexByte(q, '/')
		dir, err := filepath.EvalSymlinks(q[:i])
		if err != nil || !filepath.IsAbs(dir) {
			continue
		}
		real := filepath.Join(dir, q[i+1:])
		if fi, err := r.Lstat(real); err == nil && fi.ID.Key() == e.Bound.Key() {
			r.name(fi)
			e.File, e.FileStatus, e.FilePath = fi, FileOK, real
			return
		}
	}
}

// lstatAsHolders examines absolute path p as the socket's holders see it:
// a holder in another mount namespace (a container) bound the path in its
// own file tree. With several views, the one holding the bound file wins.
func (r *Resolver) lstatAsHolders(e *Entry, p string, m *lstatMemo) (*FileInfo, error) {
	var roots []string
	for _, h := range e.Holders {
		if root := r.MountRoot(h.PID); !slices.Contains(roots, root) {
			roots = append(roots, root)
		}
	}
	if len(roots) == 0 {
		roots = []string{""}
	}
	var fi *FileInfo
	var err error
	for i, root := range roots {
		f, ferr := m.lstatIn(r, root, p)
		if i == 0 {
			fi, err = f, ferr
		}
		if ferr == nil && e.Known.Has(KnownBound) && !e.Bound.IsZero() && f.ID.Key() == e.Bound.Key() {
			return f, nil
		}
	}
	return fi, err
}

// errNoLstat is what a resolver without Lstat (a capture's) says of any
// file: it examines none.
var errNoLstat = errors.New("no file view: the resolver has no Lstat")

func (r *Resolver) lstat(p string) (*FileInfo, error) {
	if r.Lstat == nil {
		return nil, errNoLstat
	}
	return r.Lstat(p)
}

// lstatIn examines absolute path p under root ("" for our own view), with
// the symlinks of its directories resolved inside root.
func (r *Resolver) lstatIn(root, p string) (*FileInfo, error) {
	if root == "" {
		return r.lstat(p)
	}
	dir, err := r.ResolveIn(root, path.Dir(p), true)
	if err != nil {
		return nil, err
	}
	return r.lstat(root + path.Join(dir, path.Base(p)))
}

// ResolveIn resolves the symlinks in absolute path p as a process whose
// root directory is root sees them, and returns the path as that process
// names it; the file is at root+result. The kernel cannot be asked: a path
// through /proc/PID/root resolves an absolute symlink target against our
// root, so a container's /var/run -> /run would lead to the host's /run.
// The final component is followed only with followFinal. Without Readlink
// the path is returned cleaned.
func (r *Resolver) ResolveIn(root, p string, followFinal bool) (string, error) {
	if r.Readlink == nil {
		return path.Clean("/" + p), nil
	}
	n := namei{
		lstat:    func(p string) (*FileInfo, error) { return r.lstat(root + p) },
		readlink: func(p string) (string, error) { return r.Readlink(root + p) },
	}
	cur, err := n.resolve(p, followFinal)
	return cur.path, err
}

// MountRoot is the directory through which process pid's files are seen:
// <ProcRoot>/<pid>/root when its mount namespace is not ours, "" when it is
// ours or either namespace cannot be read (then our own view is the best
// guess). Results are cached for the resolver's lifetime.
func (r *Resolver) MountRoot(pid int) string {
	if r.ProcRoot == "" || r.Readlink == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.selfMnt == nil {
		self, _ := r.Readlink(path.Join(r.ProcRoot, "self", "ns", "mnt"))
		r.selfMnt = &self
	}
	if root, ok := r.roots[pid]; ok {
		return root
	}
	if r.roots == nil {
		r.roots = map[int]string{}
	}
	dir := path.Join(r.ProcRoot, strconv.Itoa(pid))
	root := ""
	if ns, err := r.Readlink(path.Join(dir, "ns", "mnt")); err == nil && *r.selfMnt != "" && ns != *r.selfMnt {
		root = path.Join(dir, "root")
	}
	r.roots[pid] = root
	return root
}

// container labels an entry with the first holder that runs in one.
func (r *Resolver) container(hs []Holder) *Container {
	if r.Container == nil {
		return nil
	}
	for _, h := range hs {
		if c := r.containerOf(h.PID); c != nil {
			return c
		}
	}
	return nil
}

// containerOf is the container pid runs in, asked once per pid.
func (r *Resolver) containerOf(pid int) *Container {
	return memo(&r.mu, &r.containers, pid, r.Container)
}

// memo is what ask says of pid, asked once per pid and kept in *seen. The
// lock is not held while ask runs: it reads /proc, and two goroutines
// asking of one pid at once both get an answer as good.
func memo[T any](mu *sync.Mutex, seen *map[int]T, pid int, ask func(int) T) T {
	mu.Lock()
	v, ok := (*seen)[pid]
	mu.Unlock()
	if ok {
		return v
	}
	v = ask(pid)
	mu.Lock()
	if *seen == nil {
		*seen = map[int]T{}
	}
	(*seen)[pid] = v
	mu.Unlock()
	return v
}

// matchContainers reports whether a holder runs in a container that one
// of patterns names; a socket shared with the host is shown for its
// container's holder too.
func (r *Resolver) matchContainers(patterns []string, hs []Holder) bool {
	if r.Container == nil {
		return false
	}
	for _, h := range hs {
		c := r.containerOf(h.PID)
		if c == nil {
			continue
		}
		for _, p := range patterns {
			if c.Matches(p) {
				return true
			}
		}
	}
	return false
}

// service is what Service says of pid, asked once per pid.
func (r *Resolver) service(pid int) *Service {
	if r.Service == nil {
		return nil
	}
	return memo(&r.mu, &r.services, pid, r.Service)
}

// IsSystemdManager reports whether h is the systemd manager that holds the
// sockets of socket units: pid 1 named systemd. A faked name there is that
// pid namespace's init, which holds what it was given anyway.
func IsSystemdManager(h *Holder) bool { return h.PID == 1 && h.Known && h.Command == "systemd" }

// socketActivated reports a server socket held by systemd and by some other
// process: the socket of a socket unit, passed to its service. One held
// by systemd alone is either systemd's own or a socket unit whose service
// has not started, which only systemd can tell apart.
func socketActivated(e *Entry) bool {
	if !e.Listening() && (e.Type != TypeDgram || !e.Named() || e.Socket.Peer != 0) {
		return false
	}
	manager, other := false, false
	for i := range e.Holders {
		if IsSystemdManager(&e.Holders[i]) {
			manager = true
		} else {
			other = true
		}
	}
	return manager && other
}

// MatchUnits reports whether a holder runs in a unit one of the globs
// matches. A glob without a dot also matches NAME.service, as systemctl
// takes a bare name for a service.
func MatchUnits(globs []string, hs []Holder) bool {
	for _, h := range hs {
		if h.Unit == "" {
			continue
		}
		for _, g := range globs {
			if ok, _ := path.Match(g, h.Unit); ok {
				return true
			}
			if !strings.Contains(g, ".") {
				if ok, _ := path.Match(g+".service", h.Unit); ok {
					return true
				}
			}
		}
	}
	return false
}

func (r *Resolver) name(fi *FileInfo) {
	fi.Owner = r.userName(fi.UID)
	fi.Group = r.groupName(fi.GID)
}

func matchAny(patterns []string, p string) bool {
	for _, pat := range patterns {
		if ok, _ := path.Match(pat, p); ok {
			return true
		}
		if !strings.Contains(pat, "/") && !strings.HasPrefix(p, "@") {
			if ok, _ := path.Match(pat, path.Base(p)); ok && p != "" {
				return true
			}
		}
	}
	return false
}

func matchUsers(users []string, hs []Holder) bool {
	for _, h := range hs {
		if !h.Known {
			continue
		}
		for _, u := range users {
			if u == h.User || !h.UIDUnknown && u == strconv.FormatUint(uint64(h.UID), 10) {
				return true
			}
		}
	}
	return false
}

// ComparePaths orders names as `ls -v` does: runs of digits compare as
// numbers, so set-9.sock sorts before set-10.sock.
func ComparePaths(a, b string) int {
	// Listings sort names with long common prefixes: skip the equal bytes
	// at once, back to the start of a run of digits that may go on past
	// them, which has to be compared whole.
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	for i > 0 && ascii.IsDigit(a[i-1]) {
		i--
	}
	a, b = a[i:], b[i:]
	for a != "" && b != "" {
		if ascii.IsDigit(a[0]) && ascii.IsDigit(b[0]) {
			da, db := digitRun(a), digitRun(b)
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			if da != db { // equal values: fewer leading zeros first
				return da - db
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && ascii.IsDigit(s[n]) {
		n++
	}
	return n
}
