package linux

import (
	"errors"
	"io/fs"
	"syscall"
	"testing"
)

func TestUnreadWarning(t *testing.T) {
	perm := &fs.PathError{Op: "open", Path: "/proc/9/net/unix", Err: syscall.EACCES}
	many := make([]netnsRef, 7)
	for i := range many {
		many[i] = netnsRef{ino: uint64(4026532200 + i), pid: 100 + i}
	}
	tests := []struct {
		name    string
		unread  []netnsRef
		err     error
		unknown int
		root    bool
		want    string
	}{
		{"nothing left out", nil, nil, 0, false, ""},
		{"one namespace", []netnsRef{{ino: 4026532247, pid: 812}}, perm, 0, true,
			"network namespace 4026532247 (pid 812) unreadable (permission denied); sockets only there are not shown"},
		{"without a process", []netnsRef{{ino: 4026532247}}, errors.New("no process in it shows its net/unix"), 0, true,
			"network namespace 4026532247 unreadable (no process in it shows its net/unix); sockets only there are not shown"},
		{"processes unknown", nil, nil, 41, false,
			"the network namespaces of 41 processes are unknown (permission denied); sockets only there are not shown; run as root to see every namespace"},
		{"both, many", many, perm, 1, false,
			"network namespaces 4026532200 (pid 100), 4026532201 (pid 101), 4026532202 (pid 102), 4026532203 (pid 103), 4026532204 (pid 104), and 2 more unreadable (permission denied); " +
				"the network namespaces of 1 process are unknown (permission denied); sockets only there are not shown; run as root to see every namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unreadWarning(tt.unread, tt.err, tt.unknown, tt.root); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
