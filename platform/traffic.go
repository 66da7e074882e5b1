package platform

import (
	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/linux/bpf"
)

// TrafficCounter counts bytes per AF_UNIX socket while it is open.
type TrafficCounter interface {
	// Counts returns, by socket inode, bytes sent by that socket and bytes it received, since open.
	Counts() (map[uint64]inspect.Traffic, error)
	Close() error
}

// OpenTraffic starts counting; the error says why it cannot (no BPF, not root, ...), one line.
//
// On Linux it attaches BPF programs to the kernel's sock_send_length and
// sock_recv_length tracepoints, which every socket's sendmsg and recvmsg
// pass, for as long as the counter is open; they cost every AF_UNIX
// send and receive on the machine some throughput (README, "Traffic
// counting"). A socket that moved no byte since open is not in Counts.
func OpenTraffic() (TrafficCounter, error) {
	c, err := bpf.OpenTraffic()
	if err != nil {
		return nil, err
	}
	return c, nil
}
