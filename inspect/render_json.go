package inspect

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"unicode/utf8"
)

// The JSON types are udsls's public output contract: fields are added,
// never renamed or removed. README.md documents each one.

// ListingJSON is the document `udsls -o json` prints.
type ListingJSON struct {
	Sockets  []SocketJSON `json:"sockets"`
	Warnings []string     `json:"warnings"`
}

// SocketJSON is one socket. Fields a backend cannot know are null.
type SocketJSON struct {
	Path string `json:"path"`
	// PathBytes carries the exact name when it is not valid UTF-8, which
	// encoding/json would otherwise silently replace with U+FFFD.
	PathBytes   []byte         `json:"path_bytes,omitempty"`
	Abstract    bool           `json:"abstract"`
	Type        Type           `json:"type"`
	State       State          `json:"state"`
	Inode       SocketID       `json:"inode"`
	Processes   []ProcessJSON  `json:"processes"`
	File        *FileJSON      `json:"file"`
	FileStatus  *FileStatus    `json:"file_status"`
	Connections int            `json:"connections"`
	PeerInode   SocketID       `json:"peer_inode"`
	Peer        *PeerJSON      `json:"peer"`
	RecvQueue   *uint32        `json:"recv_queue"`
	SendQueue   *uint32        `json:"send_queue"`
	Pending     *uint32        `json:"pending"`
	Backlog     *uint32        `json:"backlog"`
	UID         *uint32        `json:"uid"`
	Clients     []PeerJSON     `json:"clients,omitempty"`
	Netns       *uint64        `json:"netns"`
	Container   *ContainerJSON `json:"container"`
}

// ProcessJSON is a holder of a socket.
type ProcessJSON struct {
	PID     int     `json:"pid"`
	Command string  `json:"command"`
	User    string  `json:"user"`
	UID     *uint32 `json:"uid"`
	FD      int     `json:"fd"`
}

// FileJSON is the socket file as lstat sees it.
type FileJSON struct {
	Mode  string `json:"mode"` // octal, e.g. "0660"
	UID   uint32 `json:"uid"`
	GID   uint32 `json:"gid"`
	Owner string `json:"owner"`
	Group string `json:"group"`
}

// ContainerJSON is the container a holder runs in.
type ContainerJSON struct {
	ID      string `json:"id"`
	Runtime string `json:"runtime"`
}

// PeerJSON is the far end of a connection.
type PeerJSON struct {
	Inode     SocketID      `json:"inode"`
	Path      string        `json:"path"`
	Processes []ProcessJSON `json:"processes"`
}

// OctalMode renders permission bits the way chmod takes them.
func OctalMode(m fs.FileMode) string {
	v := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	return fmt.Sprintf("%04o", v)
}

func processesJSON(hs []Holder) []ProcessJSON {
	out := make([]ProcessJSON, 0, len(hs))
	for _, h := range hs {
		p := ProcessJSON{PID: h.PID, FD: h.FD, Command: h.Command, User: h.User}
		if h.Known {
			uid := h.UID
			p.UID = &uid
		}
		out = append(out, p)
	}
	return out
}

func peerJSON(p *Peer) PeerJSON {
	return PeerJSON{Inode: p.ID, Path: p.Path, Processes: processesJSON(p.Holders)}
}

// ToJSON converts an entry to its public form.
func ToJSON(e *Entry) SocketJSON {
	j := SocketJSON{
		Path:        e.Path,
		Abstract:    e.Abstract,
		Type:        e.Type,
		State:       e.State,
		Inode:       e.ID,
		Processes:   processesJSON(e.Holders),
		Connections: e.Connections,
		PeerInode:   e.Socket.Peer,
	}
	if !utf8.ValidString(e.Path) {
		j.PathBytes = []byte(e.Path)
	}
	if e.File != nil {
		j.File = &FileJSON{Mode: OctalMode(e.File.Mode), UID: e.File.UID, GID: e.File.GID, Owner: e.File.Owner, Group: e.File.Group}
	}
	if e.FileStatus != FileNone {
		st := e.FileStatus
		j.FileStatus = &st
	}
	if e.Remote != nil {
		p := peerJSON(e.Remote)
		j.Peer = &p
	}
	if e.Known.Has(KnownQueues) {
		r, s := e.RecvQueue, e.SendQueue
		if e.Listening() {
			j.Pending, j.Backlog = &r, &s
		} else {
			j.RecvQueue, j.SendQueue = &r, &s
		}
	}
	if e.Known.Has(KnownUID) {
		u := e.Socket.UID
		j.UID = &u
	}
	for i := range e.Clients {
		j.Clients = append(j.Clients, peerJSON(&e.Clients[i]))
	}
	if e.Known.Has(KnownNetns) {
		n := e.Netns
		j.Netns = &n
	}
	if c := e.Container; c != nil {
		j.Container = &ContainerJSON{ID: c.ID, Runtime: c.Runtime}
	}
	return j
}

// WriteJSON prints a listing as one JSON document.
func WriteJSON(w io.Writer, entries []Entry, warnings []string) error {
	doc := ListingJSON{Sockets: make([]SocketJSON, 0, len(entries)), Warnings: warnings}
	if doc.Warnings == nil {
		doc.Warnings = []string{}
	}
	for i := range entries {
		doc.Sockets = append(doc.Sockets, ToJSON(&entries[i]))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
