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
		name   string
		unread []netnsRef
		err    error
		hidden unseen
		root   bool
		want   string
	}{
		{"nothing left out", nil, nil, unseen{}, false, ""},
		{"one namespace", []netnsRef{{ino: 4026532247, pid: 812}}, perm, unseen{}, true,
			"network namespace 4026532247 (pid 812) unreadable (permission denied); sockets only there are not shown"},
		{"without a process", []netnsRef{{ino: 4026532247}}, errors.New("no process in it shows its net/unix"), unseen{}, true,
			"network namespace 4026532247 unreadable (no process in it shows its net/unix); sockets only there are not shown"},
		{"processes unknown", nil, nil, unseen{[]int{1, 2, 3, 4}, syscall.EACCES}, false,
			"the network namespaces of 4 processes are unknown (permission denied: pid 1, 2, 3, ...); sockets only there are not shown; run as root to see every namespace"},
		{"both, many", many, perm, unseen{[]int{1}, syscall.EACCES}, false,
			"network namespaces 4026532200 (pid 100), 4026532201 (pid 101), 4026532202 (pid 102), 4026532203 (pid 103), 4026532204 (pid 104), and 2 more unreadable (permission denied); " +
				"the network namespaces of 1 process are unknown (permission denied: pid 1); sockets only there are not shown; run as root to see every namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unreadWarning(tt.unread, tt.err, tt.hidden, tt.root); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
