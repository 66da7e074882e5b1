package platform

import (
	"errors"

	"github.com/udsls/udsls/inspect"
)

// TrafficCounter counts bytes per AF_UNIX socket while it is open.
type TrafficCounter interface {
	// Counts returns, by socket inode, bytes sent by that socket and bytes it received, since open.
	Counts() (map[uint64]inspect.Traffic, error)
	Close() error
}

// OpenTraffic starts counting; the error says why it cannot (no BPF, not root, ...), one line.
func OpenTraffic() (TrafficCounter, error) {
	return nil, errors.New("traffic counting not built")
}
