package render

import (
	"context"
	"io/fs"

	"github.com/udsls/udsls/inspect"
)

// The fixtures below are copies of inspect's (resolve_test.go), which a
// test of another package cannot reach; they go to one shared place when
// the test helpers do.

// fakeResolver answers from literal tables instead of the system.
func fakeResolver(procs map[int]inspect.Process, files map[string]*inspect.FileInfo) *inspect.Resolver {
	return &inspect.Resolver{
		Process: func(_ context.Context, pid int) (inspect.Process, error) {
			p, ok := procs[pid]
			if !ok {
				return inspect.Process{}, fs.ErrNotExist
			}
			return p, nil
		},
		Lstat: func(path string) (*inspect.FileInfo, error) {
			fi, ok := files[path]
			if !ok {
				return nil, fs.ErrNotExist
			}
			c := *fi
			return &c, nil
		},
		UserName:  func(uid uint32) string { return map[uint32]string{0: "root", 1000: "alice"}[uid] },
		GroupName: func(gid uint32) string { return map[uint32]string{0: "root", 100: "users"}[gid] },
		ProcRoot:  "/proc",
	}
}

const diag = inspect.KnownPeer | inspect.KnownQueues | inspect.KnownBound

func testSnapshot() *inspect.Snapshot {
	return &inspect.Snapshot{
		Sockets: []inspect.Socket{
			// A listener with one accepted connection from a client.
			{ID: 10, Path: "/run/app.sock", Type: inspect.TypeStream, State: inspect.StateListening, Known: diag, Bound: inspect.FileID{Dev: 1, Ino: 500}, RecvQueue: 0, SendQueue: 128},
			{ID: 11, Path: "/run/app.sock", Type: inspect.TypeStream, State: inspect.StateConnected, Known: diag, Bound: inspect.FileID{Dev: 1, Ino: 500}, Peer: 12},
			{ID: 12, Type: inspect.TypeStream, State: inspect.StateConnected, Known: diag, Peer: 11, RecvQueue: 7},
			// A listener whose file was deleted.
			{ID: 20, Path: "/run/gone.sock", Type: inspect.TypeStream, State: inspect.StateListening, Known: diag, Bound: inspect.FileID{Dev: 1, Ino: 600}},
			// A listener whose path now names another socket.
			{ID: 30, Path: "/run/replaced.sock", Type: inspect.TypeSeqpacket, State: inspect.StateListening, Known: diag, Bound: inspect.FileID{Dev: 1, Ino: 700}, RecvQueue: 6, SendQueue: 5},
			// A bound datagram socket with one connected sender.
			{ID: 40, Path: "@abstract-dgram", Abstract: true, Type: inspect.TypeDgram, State: inspect.StateUnconnected, Known: diag},
			{ID: 41, Type: inspect.TypeDgram, State: inspect.StateConnected, Known: diag, Peer: 40},
			// A socketpair.
			{ID: 50, Type: inspect.TypeStream, State: inspect.StateConnected, Known: diag, Peer: 51},
			{ID: 51, Type: inspect.TypeStream, State: inspect.StateConnected, Known: diag, Peer: 50},
		},
		Owners: []inspect.Owner{
			{ID: 10, PID: 100, FD: 3}, {ID: 11, PID: 100, FD: 4}, {ID: 12, PID: 200, FD: 5},
			{ID: 20, PID: 100, FD: 6}, {ID: 30, PID: 300, FD: 3}, {ID: 40, PID: 100, FD: 7},
			{ID: 41, PID: 200, FD: 6}, {ID: 50, PID: 300, FD: 8}, {ID: 51, PID: 301, FD: 9},
			// The listener is shared with a forked child.
			{ID: 10, PID: 101, FD: 3},
		},
	}
}

func testFiles() map[string]*inspect.FileInfo {
	return map[string]*inspect.FileInfo{
		"/run/app.sock":      {ID: inspect.FileID{Dev: 1, Ino: 500}, Mode: fs.ModeSocket | 0o660, UID: 0, GID: 100},
		"/run/replaced.sock": {ID: inspect.FileID{Dev: 1, Ino: 701}, Mode: fs.ModeSocket | 0o600, UID: 1000, GID: 1000},
	}
}

func testProcs() map[int]inspect.Process {
	return map[int]inspect.Process{
		100: {PID: 100, Command: "appd", UID: 0},
		101: {PID: 101, Command: "appd", UID: 0},
		200: {PID: 200, Command: "curl", UID: 1000},
		300: {PID: 300, Command: "seqd", UID: 1000},
		// 301 exited before it could be read.
	}
}
