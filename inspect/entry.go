package inspect

import (
	"io/fs"
	"time"

	"github.com/udsls/udsls/inspect/internal/text"
)

// Entry is a socket joined with everything udsls knows about it.
type Entry struct {
	Socket
	Holders []Holder
	// Container is the container of the first holder that runs in one.
	Container *Container
	// File is the lstat of a filesystem path; nil for unnamed and abstract
	// sockets, and when the path could not be examined.
	File       *FileInfo
	FileStatus FileStatus
	// FilePath is where File is when Path names it only for the binder
	// (/proc/self/fd/N/x.sock); "" when Path itself leads there.
	FilePath string
	// Remote is the far end of a connection (Socket.Peer resolved).
	Remote *Peer
	// Connections counts a listener's accepted connections, or the sockets
	// connected to a bound datagram socket.
	Connections int
	// ConnectionsUnknown says the source cannot tell Connections: procfs
	// shows no datagram peers, and ties accepted connections to a
	// listener only by a name that may be shared.
	ConnectionsUnknown bool
	// Clients are the far ends of those connections (filled with --peers).
	Clients []Peer
	// SocketActivated says that systemd (pid 1) holds this server socket
	// besides another process: a socket unit listens, and the service it
	// passed the socket to serves it.
	SocketActivated bool
	// Traffic is what the socket moved while a traffic counter ran; nil
	// when nothing counted it (see AddTraffic).
	Traffic *Traffic
}

// Listening reports whether the entry is a listener.
func (e *Entry) Listening() bool { return e.State == StateListening }

// Full reports a listener whose accept queue is over its backlog, the
// kernel's own test (unix_recvq_full in net/unix/af_unix.c): new clients
// then block or fail, a classic outage cause.
func (e *Entry) Full() bool {
	return e.Listening() && e.Known.Has(KnownQueues) && e.RecvQueue > e.SendQueue
}

// Holder is a process holding the socket at a file descriptor.
type Holder struct {
	PID     int
	FD      int
	Command string
	User    string
	UID     uint32
	// Known is false when the process vanished or could not be read
	// before its name was learned.
	Known bool
	// UIDUnknown says that UID is not known though the process is (a
	// capture without uids).
	UIDUnknown bool
	// Unit is the systemd unit the process runs in, as its cgroup names
	// it (nginx.service, session-2.scope; a user unit under
	// user@UID.service); "" when none or unknown.
	Unit string
	// FDName is the name systemd passed FD under (LISTEN_FDNAMES, e.g.
	// FileDescriptorName=api); "" when none or unknown.
	FDName string
}

// Peer is the other end of a connection.
type Peer struct {
	ID      SocketID
	Path    string
	Holders []Holder
}

// FileInfo is what lstat says about a socket's path.
type FileInfo struct {
	ID      FileID
	Mode    fs.FileMode
	UID     uint32
	GID     uint32
	Owner   string
	Group   string
	ModTime time.Time
}

// IsSocket reports whether the file is a socket.
func (f *FileInfo) IsSocket() bool { return f.Mode.Type() == fs.ModeSocket }

// FileStatus says whether a filesystem-named socket is still reachable
// through its path.
type FileStatus string

const (
	FileNone     FileStatus = ""         // not a filesystem socket
	FileOK       FileStatus = "ok"       // the path names this very socket
	FileGone     FileStatus = "gone"     // the path no longer exists
	FileReplaced FileStatus = "replaced" // something else is at the path now
	FileRelative FileStatus = "relative" // bound by a relative path that could not be resolved
	FileUnknown  FileStatus = "unknown"  // the path could not be examined
)

// OctalMode renders permission bits the way chmod takes them.
func OctalMode(m fs.FileMode) string { return string(text.AppendOctalMode(nil, m)) }
