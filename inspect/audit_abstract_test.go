package inspect

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAuditAbstract judges abstract servers against literal namespaces:
// severity by who else is there, root outside containers and the servers'
// own users never counted, holders left out of the count.
func TestAuditAbstract(t *testing.T) {
	const host, pod = 4026531840, 4026532000
	ctrA := &Container{ID: "aaaa", Runtime: "docker"}
	ctrB := &Container{ID: "bbbb", Runtime: "containerd"}
	containers := map[int]*Container{300: ctrA, 301: ctrA, 400: ctrB}
	procs := map[int]Process{
		10: {PID: 10, Command: "rootd", UID: 0}, 11: {PID: 11, Command: "pg", UID: 105},
		300: {PID: 300, Command: "ctr-a", UID: 0}, 301: {PID: 301, Command: "ctr-a2", UID: 0},
	}
	members := []NetnsProcess{
		{PID: 10, UID: 0, Netns: host}, {PID: 11, UID: 105, Netns: host},
		{PID: 1, UID: 0, Netns: host}, {PID: 20, UID: 105, Netns: host},
		// pod namespace: two containers
		{PID: 300, UID: 0, Netns: pod}, {PID: 301, UID: 0, Netns: pod}, {PID: 400, UID: 0, Netns: pod},
	}
	abstract := func(id SocketID, name string, netns uint64, st State) Socket {
		return Socket{ID: id, Path: name, Abstract: true, Type: TypeStream, State: st, Known: KnownNetns, Netns: netns}
	}
	tests := []struct {
		name    string
		sock    Socket
		owners  []Owner
		others  []NetnsProcess // added to members
		want    Severity       // 0: no finding
		sharers []NetnsShare
	}{
		{"root, only root and itself", abstract(1, "@a", 5, StateListening), []Owner{{ID: 1, PID: 10, FD: 3}}, []NetnsProcess{{PID: 10, Netns: 5}, {PID: 41, Netns: 5}}, 0, nil},
		{"root, a service account", abstract(1, "@a", host, StateListening), []Owner{{ID: 1, PID: 10, FD: 3}}, nil,
			SeverityMedium, []NetnsShare{{UID: 105, User: "u105", Processes: 2}}},
		{"root, a login user", abstract(1, "@a", host, StateListening), []Owner{{ID: 1, PID: 10, FD: 3}}, []NetnsProcess{{PID: 30, UID: 1000, Netns: host}},
			SeverityHigh, []NetnsShare{{UID: 105, User: "u105", Processes: 2}, {UID: 1000, User: "alice", Processes: 1}}},
		{"service account, another service account", abstract(1, "@pg", host, StateListening), []Owner{{ID: 1, PID: 11, FD: 3}}, []NetnsProcess{{PID: 31, UID: 106, Netns: host}},
			SeverityLow, []NetnsShare{{UID: 106, User: "u106", Processes: 1}}},
		{"service account, nobody", abstract(1, "@pg", host, StateListening), []Owner{{ID: 1, PID: 11, FD: 3}}, []NetnsProcess{{PID: 32, UID: 65534, Netns: host}},
			SeverityMedium, []NetnsShare{{UID: 65534, User: "u65534", Processes: 1}}},
		{"service account, alone with its own user", abstract(1, "@pg", host, StateListening), []Owner{{ID: 1, PID: 11, FD: 3}}, nil, 0, nil},
		{"a login user's server is not judged", abstract(1, "@mine", host, StateListening), []Owner{{ID: 1, PID: 30, FD: 3}}, []NetnsProcess{{PID: 30, UID: 1000, Netns: host}, {PID: 33, UID: 1001, Netns: host}}, 0, nil},
		{"root in a container, another container", abstract(1, "@shim", pod, StateListening), []Owner{{ID: 1, PID: 300, FD: 3}}, nil,
			SeverityHigh, []NetnsShare{{UID: 0, User: "root", Container: ctrB, Processes: 1}}},
		{"root on the host, containers in its namespace", abstract(1, "@shim", pod, StateListening), []Owner{{ID: 1, PID: 10, FD: 3}}, nil,
			SeverityHigh, []NetnsShare{{UID: 0, User: "root", Container: ctrA, Processes: 2}, {UID: 0, User: "root", Container: ctrB, Processes: 1}}},
		{"a bound stream socket serves no one", abstract(1, "@a", host, StateUnconnected), []Owner{{ID: 1, PID: 10, FD: 3}}, []NetnsProcess{{PID: 30, UID: 1000, Netns: host}}, 0, nil},
		{"unknown namespace", Socket{ID: 1, Path: "@a", Abstract: true, Type: TypeStream, State: StateListening}, []Owner{{ID: 1, PID: 10, FD: 3}}, []NetnsProcess{{PID: 30, UID: 1000, Netns: host}}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := map[int]Process{}
			for k, v := range procs {
				p[k] = v
			}
			p[30] = Process{PID: 30, Command: "user", UID: 1000}
			r := fakeResolver(p, nil)
			r.UserName = func(uid uint32) string {
				return map[uint32]string{0: "root", 105: "u105", 106: "u106", 1000: "alice", 65534: "u65534"}[uid]
			}
			r.Container = func(pid int) *Container { return containers[pid] }
			a := &Auditor{Resolver: r, NetnsProcesses: func(context.Context) ([]NetnsProcess, int, error) {
				return append(append([]NetnsProcess{}, members...), tt.others...), 0, nil
			}}
			snap := &Snapshot{Sockets: []Socket{tt.sock}, Owners: tt.owners}
			rep, err := a.Audit(context.Background(), snap, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == 0 {
				if len(rep.Findings) != 0 {
					t.Errorf("findings %+v, want none", rep.Findings)
				}
				return
			}
			if len(rep.Findings) != 1 {
				t.Fatalf("findings %+v, want one", rep.Findings)
			}
			f := rep.Findings[0]
			if f.Rule != RuleAbstractReachable || f.Severity != tt.want || f.Path != tt.sock.Path || f.Netns != tt.sock.Netns {
				t.Errorf("finding %s %s %s netns %d, want %s %s", f.Rule, f.Severity, f.Path, f.Netns, RuleAbstractReachable, tt.want)
			}
			if diff := cmp.Diff(tt.sharers, f.SharedWith); diff != "" {
				t.Errorf("shared with (-want +got):\n%s\n%s", diff, f.Detail)
			}
		})
	}
}

// TestAuditUnits: --unit limits the audit, abstract sockets included, and
// a unit that matches nothing audits nothing, which is no green light.
func TestAuditUnits(t *testing.T) {
	snap := &Snapshot{
		Sockets: []Socket{
			{ID: 1, Path: "@a", Abstract: true, Type: TypeStream, State: StateListening, Known: KnownNetns, Netns: 1},
			{ID: 2, Path: "@b", Abstract: true, Type: TypeStream, State: StateListening, Known: KnownNetns, Netns: 1},
		},
		Owners: []Owner{{ID: 1, PID: 10, FD: 3}, {ID: 2, PID: 11, FD: 3}},
	}
	r := fakeResolver(map[int]Process{10: {PID: 10, Command: "a"}, 11: {PID: 11, Command: "b"}}, nil)
	r.Service = func(pid int) *Service { return map[int]*Service{10: {Unit: "a.service"}, 11: {Unit: "b.service"}}[pid] }
	members := []NetnsProcess{{PID: 10, Netns: 1}, {PID: 11, Netns: 1}, {PID: 12, UID: 1000, Netns: 1}}
	a := &Auditor{Resolver: r, NetnsProcesses: func(context.Context) ([]NetnsProcess, int, error) { return members, 0, nil }}
	for _, tt := range []struct {
		units   []string
		want    []string
		nothing bool
	}{
		{nil, []string{"@a", "@b"}, false},
		{[]string{"a"}, []string{"@a"}, false},
		{[]string{"c*"}, nil, true},
	} {
		a.Units = tt.units
		rep, err := a.Audit(context.Background(), snap, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range rep.Findings {
			got = append(got, f.Path)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" || rep.NothingAudited != tt.nothing {
			t.Errorf("--unit %q: nothing audited %v; paths (-want +got):\n%s", tt.units, rep.NothingAudited, diff)
		}
	}
}
