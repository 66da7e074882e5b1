// Package testserver opens Unix domain sockets of every kind on the real
// kernel and reports exactly what it made, so that udsls and its tests have
// a known set of sockets to find. `udsls --serve` prints its Manifest.
//
// On Linux it opens, in one directory: a stream echo listener with a
// connected client whose echo sits unread, a datagram echo socket, a
// seqpacket echo listener, an abstract listener, a listener whose accept
// queue is full, a socketpair with bytes queued, a stale socket file, a
// listener with a hostile name, and Count sets of a listener with one
// accepted connection. On macOS the abstract namespace and seqpacket sockets
// do not exist, so those two are left out. Other systems get an error.
package testserver

import "github.com/udsls/udsls/inspect"

// Config says where and how much to serve.
type Config struct {
	// Dir holds the filesystem sockets. It is created (one level) if it
	// does not exist, and then removed by Close; "" means a new temporary
	// directory.
	Dir string
	// Count adds that many sets of a stream listener, one accepted
	// connection and its client: three descriptors each.
	Count int
}

// Role says what a socket is for.
type Role string

const (
	RoleEchoStream  Role = "echo-stream"  // stream listener that echoes every connection
	RoleClient      Role = "client"       // connected to echo-stream; its echo is left unread
	RoleAccepted    Role = "accepted"     // echo-stream's end of client's connection
	RoleEchoDgram   Role = "echo-dgram"   // bound datagram socket that echoes to bound senders
	RoleSeqpacket   Role = "seqpacket"    // seqpacket listener that echoes (Linux)
	RoleAbstract    Role = "abstract"     // stream listener in the abstract namespace (Linux)
	RoleFull        Role = "full"         // stream listener with backlog 0 and one pending connection: full
	RolePending     Role = "pending"      // connected to full, waiting in its accept queue
	RolePairA       Role = "pair-a"       // one end of a socketpair, with bytes queued from pair-b
	RolePairB       Role = "pair-b"       // the other end
	RoleStale       Role = "stale"        // a socket file whose socket was closed: no pid, fd or inode
	RoleHostile     Role = "hostile"      // stream listener named with a space, a newline and ESC
	RoleSetListener Role = "set-listener" // one per set
	RoleSetAccepted Role = "set-accepted"
	RoleSetClient   Role = "set-client"
)

// Manifest is everything a Server opened, in the order it opened it: the
// fixed sockets first, then the sets, each as listener, accepted, client.
type Manifest struct {
	Dir     string   `json:"dir"`
	PID     int      `json:"pid"`
	Sockets []Socket `json:"sockets"`
}

// Socket is one socket of the manifest, described as the kernel reports it.
type Socket struct {
	Role Role `json:"role"`
	// Path is the name the kernel reports for the socket: the path as
	// passed to bind (relative if Dir was), "@" and the name for the
	// abstract namespace, "" when unnamed. An accepted connection carries
	// its listener's name, as the kernel reports it. The names are valid
	// UTF-8, so JSON carries them exactly.
	Path     string        `json:"path"`
	Abstract bool          `json:"abstract"`
	Type     inspect.Type  `json:"type"`
	State    inspect.State `json:"state,omitempty"` // none for stale
	// Inode is st_ino of the socket's descriptor, 0 for stale.
	Inode uint64 `json:"inode,omitempty"`
	// PID and FD hold the socket; both 0 for stale.
	PID int `json:"pid,omitempty"`
	FD  int `json:"fd,omitempty"`
	// PeerInode is the other end of a connection. A pending connection's
	// peer has not been accepted yet, so it has no inode and this is 0.
	PeerInode uint64 `json:"peer_inode,omitempty"`
	// Queued is what waits in the receive queue when Start returns: for a
	// listener, connections not yet accepted, otherwise unread bytes. The
	// echo sockets drain their queues, so theirs change while tests talk
	// to them.
	Queued int `json:"queued"`
}
