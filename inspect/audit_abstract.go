package inspect

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// RuleAbstractReachable: a root process or a service account serves an
// abstract socket in a network namespace that processes of other users, or
// of other containers, share. An abstract name has no file and so no
// permission check (unix_find_abstract, net/unix/af_unix.c): every
// process in the namespace may connect. High when a root server is
// reachable by a login user (uid >= 1000, nobody included) or from another
// container; medium when a root server is reachable by other service
// accounts only, or a service account's server by a login user or another
// container; low when a service account's server is reachable by other
// service accounts only.
const RuleAbstractReachable = "abstract-reachable"

// ServiceUIDMax is the highest uid of a service account (Debian's and
// Fedora's SYS_UID_MAX default): servers at or below it are audited for
// abstract names, and reachers above it count as login users.
const ServiceUIDMax = 999

// NetnsProcess is a process and the network namespace it is in.
type NetnsProcess struct {
	PID   int
	UID   uint32 // effective
	Netns uint64
}

// NetnsShare is who else is in an abstract socket's network namespace:
// the processes of one user, in one container or none.
type NetnsShare struct {
	UID       uint32
	User      string
	Container *Container
	Processes int
}

// abstractServer reports whether e is an abstract socket that serves
// (a listener, or a datagram socket not connected to a peer).
func abstractServer(e *Entry) bool {
	return e.Abstract && (e.Listening() || e.Type == TypeDgram && e.Socket.Peer == 0)
}

// abstract judges the abstract servers es against who shares their
// network namespaces.
func (au *audit) abstract(ctx context.Context, es []*Entry) {
	var judged []*Entry
	for _, e := range es {
		if slices.ContainsFunc(serverUIDs(e), func(u uint32) bool { return u <= ServiceUIDMax }) {
			judged = append(judged, e)
		}
	}
	if len(judged) == 0 || au.NetnsProcesses == nil {
		return
	}
	procs, unread, err := au.NetnsProcesses(ctx)
	if err != nil {
		au.warn("abstract sockets not audited: %v", err)
		return
	}
	if unread > 0 {
		au.warn("the network namespaces of %s could not be read: more may share an abstract socket's namespace than said", processes(unread))
	}
	byNetns := map[uint64][]NetnsProcess{}
	for _, p := range procs {
		byNetns[p.Netns] = append(byNetns[p.Netns], p)
	}
	for _, e := range judged {
		if !e.Known.Has(KnownNetns) {
			au.warnOnce("abstract sockets of an unknown network namespace were not audited")
			continue
		}
		au.abstractEntry(e, byNetns[e.Netns])
	}
}

func (au *audit) abstractEntry(e *Entry, members []NetnsProcess) {
	uids := serverUIDs(e)
	root := slices.Contains(uids, 0)
	holders := map[int]bool{}
	for _, h := range e.Holders {
		holders[h.PID] = true
	}
	type key struct {
		uid       uint32
		container string
	}
	shares := map[key]*NetnsShare{}
	var order []key
	sev := Severity(0)
	for _, m := range members {
		if holders[m.PID] {
			continue
		}
		c := au.Resolver.container([]Holder{{PID: m.PID}})
		otherContainer := c != nil && (e.Container == nil || c.ID != e.Container.ID)
		otherUser := m.UID != 0 && !slices.Contains(uids, m.UID)
		if !otherContainer && !otherUser {
			continue
		}
		s := SeverityLow
		switch {
		case root && (otherContainer || m.UID > ServiceUIDMax):
			s = SeverityHigh
		case root, otherContainer || m.UID > ServiceUIDMax:
			s = SeverityMedium
		}
		sev = max(sev, s)
		k := key{uid: m.UID, container: containerKey(c)}
		if shares[k] == nil {
			shares[k] = &NetnsShare{UID: m.UID, User: au.Resolver.userName(m.UID), Container: c}
			order = append(order, k)
		}
		shares[k].Processes++
	}
	if sev == 0 {
		return
	}
	f := Finding{Path: e.Path, Rule: RuleAbstractReachable, Severity: sev, Holders: e.Holders, Netns: e.Netns, NetnsProcesses: len(members)}
	for _, k := range order {
		f.SharedWith = append(f.SharedWith, *shares[k])
	}
	// Most processes first, then by uid and container: the same namespace
	// reads the same on every run.
	slices.SortFunc(f.SharedWith, func(a, b NetnsShare) int {
		return cmp.Or(cmp.Compare(b.Processes, a.Processes), cmp.Compare(a.UID, b.UID), cmp.Compare(containerKey(a.Container), containerKey(b.Container)))
	})
	var who []string
	n := 0
	for i, s := range f.SharedWith {
		n += s.Processes
		if i < 5 {
			who = append(who, s.describe())
		}
	}
	if len(f.SharedWith) > 5 {
		who = append(who, fmt.Sprintf("%d more", len(f.SharedWith)-5))
	}
	server := "a root process"
	if !root {
		server = "a service account (" + serverNames(e, uids) + ")"
	}
	f.Detail = fmt.Sprintf("an abstract name has no permission check: %s serves it in network namespace %d, which %s of others share: %s",
		server, e.Netns, processes(n), strings.Join(who, ", "))
	f.Fix = "bind a socket file in a directory only its clients may search instead, check the peer's credentials (SO_PEERCRED) on every connection, or give the server a network namespace of its own"
	au.add(f)
}

func containerKey(c *Container) string {
	if c == nil {
		return ""
	}
	return c.Runtime + ":" + c.ID
}

func (s *NetnsShare) describe() string {
	d := rawName(s.User, s.UID)
	if s.User != "" {
		d += " (uid " + strconv.FormatUint(uint64(s.UID), 10) + ")"
	}
	if c := s.Container; c != nil {
		id := c.ID
		if len(id) > 12 {
			id = id[:12]
		}
		d += " in " + c.Runtime + " container " + id
	}
	return d + ": " + processes(s.Processes)
}

func processes(n int) string {
	if n == 1 {
		return "1 process"
	}
	return strconv.Itoa(n) + " processes"
}

// serverNames names the service accounts among a socket's servers.
func serverNames(e *Entry, uids []uint32) string {
	var out []string
	for _, u := range uids {
		name := ""
		for _, h := range e.Holders {
			if h.Known && h.UID == u {
				name = h.User
				break
			}
		}
		out = append(out, rawName(name, u))
	}
	return strings.Join(out, ", ")
}
