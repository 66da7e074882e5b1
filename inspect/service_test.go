package inspect

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// serviceSnapshot: a socket unit's listener held by systemd and passed to
// app.service as "api"; one systemd holds alone; a listener of a user
// unit; a connection of app.service; a listener of no unit.
func serviceSnapshot() (*Snapshot, *Resolver) {
	snap := &Snapshot{
		Sockets: []Socket{
			{ID: 1, Path: "/run/api.sock", Type: TypeStream, State: StateListening},
			{ID: 2, Path: "/run/systemd/private", Type: TypeStream, State: StateListening},
			{ID: 3, Path: "@user-app", Abstract: true, Type: TypeStream, State: StateListening},
			{ID: 4, Path: "/run/journal.sock", Type: TypeDgram, State: StateUnconnected},
			{ID: 5, Path: "/run/plain.sock", Type: TypeStream, State: StateListening},
			{ID: 6, Type: TypeStream, State: StateConnected},
			// A named datagram socket connected to a peer serves no one.
			{ID: 7, Path: "/run/sender.sock", Type: TypeDgram, State: StateConnected, Peer: 4},
		},
		Owners: []Owner{
			{ID: 1, PID: 1, FD: 40}, {ID: 1, PID: 500, FD: 3},
			{ID: 2, PID: 1, FD: 12},
			{ID: 3, PID: 1000, FD: 3},
			{ID: 4, PID: 1, FD: 50}, {ID: 4, PID: 600, FD: 3},
			{ID: 5, PID: 700, FD: 3},
			{ID: 6, PID: 500, FD: 9},
			{ID: 7, PID: 1, FD: 51}, {ID: 7, PID: 600, FD: 4},
		},
	}
	procs := map[int]Process{
		1: {PID: 1, Command: "systemd"}, 500: {PID: 500, Command: "app"}, 600: {PID: 600, Command: "journald"},
		700: {PID: 700, Command: "plain"}, 1000: {PID: 1000, Command: "userapp", UID: 1000},
	}
	r := fakeResolver(procs, nil)
	services := map[int]*Service{
		1:    {Unit: "init.scope"},
		500:  {Unit: "app.service", FDNames: map[int]string{3: "api"}},
		600:  {Unit: `systemd\x2djournald.service`},
		1000: {Unit: "user-app.service"},
	}
	r.Service = func(pid int) *Service { return services[pid] }
	return snap, r
}

func TestEntriesService(t *testing.T) {
	snap, r := serviceSnapshot()
	type row struct {
		Path      string
		Activated bool
		Units     []string
		FDNames   []string
	}
	var got []row
	for _, e := range r.Entries(context.Background(), snap, Query{View: ViewAll}) {
		w := row{Path: e.Path, Activated: e.SocketActivated}
		for _, h := range e.Holders {
			w.Units = append(w.Units, h.Unit)
			w.FDNames = append(w.FDNames, h.FDName)
		}
		got = append(got, w)
	}
	want := []row{
		{Path: "", Units: []string{"app.service"}, FDNames: []string{""}},
		{Path: "/run/api.sock", Activated: true, Units: []string{"init.scope", "app.service"}, FDNames: []string{"", "api"}},
		{Path: "/run/journal.sock", Activated: true, Units: []string{"init.scope", `systemd\x2djournald.service`}, FDNames: []string{"", ""}},
		{Path: "/run/plain.sock", Units: []string{""}, FDNames: []string{""}},
		{Path: "/run/sender.sock", Units: []string{"init.scope", `systemd\x2djournald.service`}, FDNames: []string{"", ""}},
		{Path: "/run/systemd/private", Units: []string{"init.scope"}, FDNames: []string{""}},
		{Path: "@user-app", Units: []string{"user-app.service"}, FDNames: []string{""}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestQueryUnits(t *testing.T) {
	tests := []struct {
		units []string
		want  []string
	}{
		{[]string{"app.service"}, []string{"/run/api.sock"}},
		{[]string{"app"}, []string{"/run/api.sock"}},
		{[]string{"*app*"}, []string{"/run/api.sock", "@user-app"}},
		{[]string{`systemd\\x2djournald.service`}, []string{"/run/journal.sock", "/run/sender.sock"}},
		{[]string{"init.scope"}, []string{"/run/api.sock", "/run/journal.sock", "/run/sender.sock", "/run/systemd/private"}},
		{[]string{"nope", "user-*"}, []string{"@user-app"}},
		{[]string{"plain"}, nil},
	}
	for _, tt := range tests {
		snap, r := serviceSnapshot()
		q := Query{Units: tt.units}
		if !q.Filtered() {
			t.Errorf("%q: Query not Filtered", tt.units)
		}
		var got []string
		for _, e := range r.Entries(context.Background(), snap, q) {
			got = append(got, e.Path)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("--unit %q (-want +got):\n%s", tt.units, diff)
		}
	}
}
