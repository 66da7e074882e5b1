package linux

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

func TestLiveSourcePIDs(t *testing.T) {
	// Two processes holding 4 sockets each.
	pids := spreadSockets(t, 2, 4)
	ours, _ := socketPair(t, unix.SOCK_STREAM)
	ourID := liveInode(t, ours)
	for _, tt := range []struct {
		name string
		pids []int
		want map[int]int // sockets held, by pid
	}{
		{"one", pids[:1], map[int]int{pids[0]: 4}},
		{"one and a pid that does not exist", []int{pids[0], 1 << 30}, map[int]int{pids[0]: 4}},
		{"both", pids, map[int]int{pids[0]: 4, pids[1]: 4}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := &Source{Sockets: SocketsAuto, PIDs: tt.pids}
			snap, err := src.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			listed := map[inspect.SocketID]bool{}
			for _, s := range snap.Sockets {
				listed[s.ID] = true
			}
			perPID := map[int]int{}
			for _, o := range snap.Owners {
				if !slices.Contains(tt.pids, o.PID) {
					t.Errorf("owner %+v is outside the pids %v", o, tt.pids)
				}
				if !listed[o.ID] {
					t.Errorf("owner %+v of a socket not listed", o)
				}
				perPID[o.PID]++
			}
			if diff := cmp.Diff(tt.want, perPID); diff != "" {
				t.Errorf("sockets held by pid (-want +got):\n%s", diff)
			}
			if !listed[ourID] {
				t.Errorf("our socket %d is not listed: the pid filter limits holders, not sockets", ourID)
			}
			if len(snap.Warnings) != 0 {
				t.Errorf("warnings %q, want none", snap.Warnings)
			}
		})
	}
}
