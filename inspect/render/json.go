package render

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/internal/text"
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
	PathBytes []byte           `json:"path_bytes,omitempty"`
	Abstract  bool             `json:"abstract"`
	Type      inspect.Type     `json:"type"`
	State     inspect.State    `json:"state"`
	Inode     inspect.SocketID `json:"inode"`
	// ID is Inode as a "0x…" string: a kernel address (macOS) is above
	// 2^53, where a JSON number read as a double (jq, JavaScript) is
	// rounded and stops naming one socket.
	ID          string              `json:"id"`
	Processes   []ProcessJSON       `json:"processes"`
	File        *FileJSON           `json:"file"`
	FileStatus  *inspect.FileStatus `json:"file_status"`
	Connections *int                `json:"connections"`
	PeerInode   inspect.SocketID    `json:"peer_inode"`
	PeerID      string              `json:"peer_id"` // PeerInode as ID is Inode; "" when none
	Peer        *PeerJSON           `json:"peer"`
	RecvQueue   *uint32             `json:"recv_queue"`
	SendQueue   *uint32             `json:"send_queue"`
	Pending     *uint32             `json:"pending"`
	Backlog     *uint32             `json:"backlog"`
	UID         *uint32             `json:"uid"`
	Clients     []PeerJSON          `json:"clients,omitempty"`
	Netns       *uint64             `json:"netns"`
	Container   *ContainerJSON      `json:"container"`
	// SocketActivated: systemd (pid 1) holds the socket besides the
	// service it passed it to.
	SocketActivated bool `json:"socket_activated"`
	// Traffic is in udsls --watch output only, where it is null when
	// traffic is not counted; a listing leaves it out.
	Traffic *TrafficJSON `json:"traffic,omitempty"`
}

// TrafficJSON is what a socket moved while udsls --watch counted it. A
// listener's is the sum over its accepted connections.
type TrafficJSON struct {
	SentBytes     uint64 `json:"sent_bytes"`
	ReceivedBytes uint64 `json:"received_bytes"`
}

// WatchJSON is one line of `udsls --watch -o json`: one refresh.
type WatchJSON struct {
	Time     string       `json:"time"` // RFC 3339, UTC, in milliseconds
	Sockets  []SocketJSON `json:"sockets"`
	Warnings []string     `json:"warnings"`
}

// ProcessJSON is a holder of a socket.
type ProcessJSON struct {
	PID     int    `json:"pid"`
	Command string `json:"command"`
	// CommandBytes and UserBytes are the exact bytes when not valid UTF-8,
	// as PathBytes is for Path.
	CommandBytes []byte  `json:"command_bytes,omitempty"`
	User         string  `json:"user"`
	UserBytes    []byte  `json:"user_bytes,omitempty"`
	UID          *uint32 `json:"uid"`
	FD           int     `json:"fd"`
	// Unit is the holder's systemd unit, FDName the name systemd passed
	// FD under; null when none or unknown.
	Unit   *string `json:"unit"`
	FDName *string `json:"fd_name"`
}

// FileJSON is the socket file as lstat sees it.
type FileJSON struct {
	Mode  string `json:"mode"` // octal, e.g. "0660"
	UID   uint32 `json:"uid"`
	GID   uint32 `json:"gid"`
	Owner string `json:"owner"`
	// OwnerBytes and GroupBytes are the exact bytes of names from the
	// account database that are not valid UTF-8.
	OwnerBytes []byte `json:"owner_bytes,omitempty"`
	Group      string `json:"group"`
	GroupBytes []byte `json:"group_bytes,omitempty"`
}

// ContainerJSON is the container a holder runs in. Name, Pod and
// Namespace are null when the runtime did not tell them; they are the
// runtime's names, exact.
type ContainerJSON struct {
	ID        string  `json:"id"`
	Runtime   string  `json:"runtime"`
	Name      *string `json:"name"`
	Pod       *string `json:"pod"`
	Namespace *string `json:"namespace"`
}

// orNull is s, or nil for "".
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// PeerJSON is the far end of a connection.
type PeerJSON struct {
	Inode     inspect.SocketID `json:"inode"`
	ID        string           `json:"id"` // Inode as SocketJSON.ID is
	Path      string           `json:"path"`
	PathBytes []byte           `json:"path_bytes,omitempty"`
	Processes []ProcessJSON    `json:"processes"`
}

func processesJSON(hs []inspect.Holder) []ProcessJSON {
	out := make([]ProcessJSON, 0, len(hs))
	for _, h := range hs {
		p := ProcessJSON{PID: h.PID, FD: h.FD, Command: h.Command, CommandBytes: exactBytes(h.Command), User: h.User, UserBytes: exactBytes(h.User),
			Unit: orNull(h.Unit), FDName: orNull(h.FDName)}
		if h.Known && !h.UIDUnknown {
			uid := h.UID
			p.UID = &uid
		}
		out = append(out, p)
	}
	return out
}

func peerJSON(p *inspect.Peer) PeerJSON {
	return PeerJSON{Inode: p.ID, ID: p.ID.Hex(), Path: p.Path, PathBytes: exactBytes(p.Path), Processes: processesJSON(p.Holders)}
}

// exactBytes is the *_bytes companion of an untrusted string: its bytes
// when encoding/json would replace some of them with U+FFFD, else nil.
func exactBytes(s string) []byte {
	if utf8.ValidString(s) {
		return nil
	}
	return []byte(s)
}

// peerHex is SocketJSON.PeerID: "" when there is no peer.
func peerHex(id inspect.SocketID) string {
	if id == 0 {
		return ""
	}
	return id.Hex()
}

// ToJSON converts an entry to its public form.
func ToJSON(e *inspect.Entry) SocketJSON {
	j := SocketJSON{
		Path:      e.Path,
		Abstract:  e.Abstract,
		Type:      e.Type,
		State:     e.State,
		Inode:     e.ID,
		ID:        e.ID.Hex(),
		Processes: processesJSON(e.Holders),
		PeerInode: e.Socket.Peer,
		PeerID:    peerHex(e.Socket.Peer),
		PathBytes: exactBytes(e.Path),
	}
	if !e.ConnectionsUnknown {
		n := e.Connections
		j.Connections = &n
	}
	if f := e.File; f != nil {
		j.File = &FileJSON{Mode: inspect.OctalMode(f.Mode), UID: f.UID, GID: f.GID,
			Owner: f.Owner, OwnerBytes: exactBytes(f.Owner), Group: f.Group, GroupBytes: exactBytes(f.Group)}
	}
	if e.FileStatus != inspect.FileNone {
		st := e.FileStatus
		j.FileStatus = &st
	}
	if e.Remote != nil {
		p := peerJSON(e.Remote)
		j.Peer = &p
	}
	if e.Known.Has(inspect.KnownQueues) {
		r, s := e.RecvQueue, e.SendQueue
		if e.Listening() {
			j.Pending, j.Backlog = &r, &s
		} else {
			j.RecvQueue, j.SendQueue = &r, &s
		}
	}
	if e.Known.Has(inspect.KnownUID) {
		u := e.Socket.UID
		j.UID = &u
	}
	for i := range e.Clients {
		j.Clients = append(j.Clients, peerJSON(&e.Clients[i]))
	}
	if e.Known.Has(inspect.KnownNetns) {
		n := e.Netns
		j.Netns = &n
	}
	if c := e.Container; c != nil {
		j.Container = &ContainerJSON{ID: c.ID, Runtime: c.Runtime, Name: orNull(c.Name), Pod: orNull(c.Pod), Namespace: orNull(c.Namespace)}
	}
	j.SocketActivated = e.SocketActivated
	if t := e.Traffic; t != nil {
		j.Traffic = &TrafficJSON{SentBytes: t.SentBytes, ReceivedBytes: t.ReceivedBytes}
	}
	return j
}

// WatchTime is how a watch line gives its time: RFC 3339 in UTC, to the
// millisecond, since refreshes may come faster than a second apart.
const WatchTime = "2006-01-02T15:04:05.000Z07:00"

// WriteWatchLine prints one refresh of a watch as one line of compact
// JSON (a WatchJSON), each socket with its "traffic", null when entries
// carry none.
func WriteWatchLine(w io.Writer, t time.Time, entries []inspect.Entry, warnings []string) error {
	j := &jsonWriter{w: w, b: make([]byte, 0, jsonFlushAt+4096), compact: true, traffic: true}
	j.open('{')
	j.key("time")
	j.str(t.UTC().Format(WatchTime))
	j.key("sockets")
	j.open('[')
	for i := range entries {
		j.next()
		j.entry(&entries[i])
		if err := j.flush(false); err != nil {
			return err
		}
	}
	return j.end(warnings)
}

// WriteJSON prints a listing as one JSON document, byte for byte what
// encoding/json's Encoder with SetIndent("", "  ") prints for a
// ListingJSON.
func WriteJSON(w io.Writer, entries []inspect.Entry, warnings []string) error {
	jw := NewJSONWriter(w)
	for i := range entries {
		if err := jw.Write(&entries[i]); err != nil {
			return err
		}
	}
	return jw.Close(warnings)
}

// JSONWriter prints the document WriteJSON prints an entry at a time, so
// that a listing need not be held whole (Resolver.EachEntry). It encodes
// each entry by hand into a small buffer: reflecting over the whole
// document and then re-indenting it took more time than reading the
// sockets, and memory twice the output's size.
type JSONWriter struct {
	j jsonWriter
}

// NewJSONWriter starts a listing document on w.
func NewJSONWriter(w io.Writer) *JSONWriter {
	jw := &JSONWriter{j: jsonWriter{w: w, b: make([]byte, 0, jsonFlushAt+4096)}}
	jw.j.open('{')
	jw.j.key("sockets")
	jw.j.open('[')
	return jw
}

// Write adds one socket.
func (jw *JSONWriter) Write(e *inspect.Entry) error {
	jw.j.next()
	jw.j.entry(e)
	return jw.j.flush(false)
}

// Close ends the document with the warnings and writes what is left.
func (jw *JSONWriter) Close(warnings []string) error {
	return jw.j.end(warnings)
}

// end closes the sockets array, adds the warnings, ends the document and
// writes what is left.
func (j *jsonWriter) end(warnings []string) error {
	j.close(']')
	j.key("warnings")
	j.open('[')
	for _, w := range warnings {
		j.next()
		j.str(w)
	}
	j.close(']')
	j.close('}')
	j.b = append(j.b, '\n')
	return j.flush(true)
}

// jsonFlushAt is how much encoded output is kept before it is written.
const jsonFlushAt = 32 << 10

// jsonWriter appends indented JSON as encoding/json's indenter lays it out:
// members one per line, two spaces per level, empty arrays as [].
// The entry method mirrors ToJSON and SocketJSON field by field;
// TestWriteJSONMatchesEncodingJSON holds them together.
type jsonWriter struct {
	w     io.Writer
	err   error // the first write error; nothing is written after it
	b     []byte
	depth int
	empty bool // the innermost array or object has no member yet
	// compact lays the document out on one line, as encoding/json's
	// Encoder does without SetIndent.
	compact bool
	// traffic adds each socket's "traffic" member (udsls --watch).
	traffic bool
}

func (j *jsonWriter) flush(final bool) error {
	if j.err != nil || !final && len(j.b) < jsonFlushAt {
		return j.err
	}
	_, j.err = j.w.Write(j.b)
	j.b = j.b[:0]
	return j.err
}

// jsonIndent is a newline and the indent of the deepest level: a process
// of a client of a socket, 7 levels down.
const jsonIndent = "\n              "

func (j *jsonWriter) newline() {
	if !j.compact {
		j.b = append(j.b, jsonIndent[:1+2*j.depth]...)
	}
}

func (j *jsonWriter) open(c byte) {
	j.b = append(j.b, c)
	j.depth++
	j.empty = true
}

func (j *jsonWriter) close(c byte) {
	j.depth--
	if !j.empty {
		j.newline()
	}
	j.b = append(j.b, c)
	j.empty = false
}

// next starts an array element.
func (j *jsonWriter) next() {
	if !j.empty {
		j.b = append(j.b, ',')
	}
	j.newline()
	j.empty = false
}

// key starts an object member; k needs no escaping.
func (j *jsonWriter) key(k string) {
	j.next()
	j.b = append(j.b, '"')
	j.b = append(j.b, k...)
	j.b = append(j.b, '"', ':')
	if !j.compact {
		j.b = append(j.b, ' ')
	}
}

func (j *jsonWriter) str(s string) { j.b = appendJSONString(j.b, s) }
func (j *jsonWriter) null()        { j.b = append(j.b, "null"...) }

// strOrNull writes s, or null for "".
func (j *jsonWriter) strOrNull(s string) {
	if s == "" {
		j.null()
		return
	}
	j.str(s)
}
func (j *jsonWriter) uint(v uint64) { j.b = strconv.AppendUint(j.b, v, 10) }
func (j *jsonWriter) int(v int)     { j.b = strconv.AppendInt(j.b, int64(v), 10) }
func (j *jsonWriter) bool(v bool)   { j.b = strconv.AppendBool(j.b, v) }

// entry writes ToJSON(e) as encoding/json would, without building it.
func (j *jsonWriter) entry(e *inspect.Entry) {
	j.open('{')
	j.key("path")
	j.str(e.Path)
	j.exact("path_bytes", e.Path)
	j.key("abstract")
	j.bool(e.Abstract)
	j.key("type")
	j.str(e.Type.String())
	j.key("state")
	j.str(e.State.String())
	j.key("inode")
	j.uint(uint64(e.ID))
	j.key("id")
	j.hex(e.ID)
	j.key("processes")
	j.holders(e.Holders)
	j.key("file")
	if f := e.File; f == nil {
		j.null()
	} else {
		j.open('{')
		j.key("mode")
		j.b = append(j.b, '"')
		j.b = text.AppendOctalMode(j.b, f.Mode)
		j.b = append(j.b, '"')
		j.key("uid")
		j.uint(uint64(f.UID))
		j.key("gid")
		j.uint(uint64(f.GID))
		j.key("owner")
		j.str(f.Owner)
		j.exact("owner_bytes", f.Owner)
		j.key("group")
		j.str(f.Group)
		j.exact("group_bytes", f.Group)
		j.close('}')
	}
	j.key("file_status")
	j.strOrNull(string(e.FileStatus)) // FileNone is ""
	j.key("connections")
	if e.ConnectionsUnknown {
		j.null()
	} else {
		j.int(e.Connections)
	}
	j.key("peer_inode")
	j.uint(uint64(e.Socket.Peer))
	j.key("peer_id")
	if e.Socket.Peer == 0 {
		j.b = append(j.b, '"', '"')
	} else {
		j.hex(e.Socket.Peer)
	}
	j.key("peer")
	if e.Remote == nil {
		j.null()
	} else {
		j.peer(e.Remote)
	}
	queues, listening := e.Known.Has(inspect.KnownQueues), e.Listening()
	j.key("recv_queue")
	j.uint32If(e.RecvQueue, queues && !listening)
	j.key("send_queue")
	j.uint32If(e.SendQueue, queues && !listening)
	j.key("pending")
	j.uint32If(e.RecvQueue, queues && listening)
	j.key("backlog")
	j.uint32If(e.SendQueue, queues && listening)
	j.key("uid")
	j.uint32If(e.Socket.UID, e.Known.Has(inspect.KnownUID))
	if len(e.Clients) > 0 {
		j.key("clients")
		j.open('[')
		for i := range e.Clients {
			j.next()
			j.peer(&e.Clients[i])
		}
		j.close(']')
	}
	j.key("netns")
	if e.Known.Has(inspect.KnownNetns) {
		j.uint(e.Netns)
	} else {
		j.null()
	}
	j.key("container")
	if c := e.Container; c == nil {
		j.null()
	} else {
		j.open('{')
		j.key("id")
		j.str(c.ID)
		j.key("runtime")
		j.str(c.Runtime)
		for _, f := range [...]struct{ k, v string }{{"name", c.Name}, {"pod", c.Pod}, {"namespace", c.Namespace}} {
			j.key(f.k)
			j.strOrNull(f.v)
		}
		j.close('}')
	}
	j.key("socket_activated")
	j.bool(e.SocketActivated)
	// A listing's entries carry no traffic, and leave the member out.
	if j.traffic || e.Traffic != nil {
		j.key("traffic")
		if t := e.Traffic; t == nil {
			j.null()
		} else {
			j.open('{')
			j.key("sent_bytes")
			j.uint(t.SentBytes)
			j.key("received_bytes")
			j.uint(t.ReceivedBytes)
			j.close('}')
		}
	}
	j.close('}')
}

// exact writes the *_bytes companion k of s, when s is not valid UTF-8.
func (j *jsonWriter) exact(k, s string) {
	if utf8.ValidString(s) {
		return
	}
	j.key(k)
	j.b = append(j.b, '"')
	j.b = base64.StdEncoding.AppendEncode(j.b, []byte(s))
	j.b = append(j.b, '"')
}

func (j *jsonWriter) hex(id inspect.SocketID) {
	j.b = append(j.b, '"')
	j.b = text.AppendHex(j.b, uint64(id))
	j.b = append(j.b, '"')
}

func (j *jsonWriter) uint32If(v uint32, known bool) {
	if !known {
		j.null()
		return
	}
	j.uint(uint64(v))
}

func (j *jsonWriter) peer(p *inspect.Peer) {
	j.open('{')
	j.key("inode")
	j.uint(uint64(p.ID))
	j.key("id")
	j.hex(p.ID)
	j.key("path")
	j.str(p.Path)
	j.exact("path_bytes", p.Path)
	j.key("processes")
	j.holders(p.Holders)
	j.close('}')
}

func (j *jsonWriter) holders(hs []inspect.Holder) {
	j.open('[')
	for i := range hs {
		h := &hs[i]
		j.next()
		j.open('{')
		j.key("pid")
		j.int(h.PID)
		j.key("command")
		j.str(h.Command)
		j.exact("command_bytes", h.Command)
		j.key("user")
		j.str(h.User)
		j.exact("user_bytes", h.User)
		j.key("uid")
		j.uint32If(h.UID, h.Known && !h.UIDUnknown)
		j.key("fd")
		j.int(h.FD)
		j.key("unit")
		j.strOrNull(h.Unit)
		j.key("fd_name")
		j.strOrNull(h.FDName)
		j.close('}')
	}
	j.close(']')
}

// appendJSONString appends s quoted as encoding/json quotes strings with
// HTML escaping on (its default): invalid UTF-8 becomes U+FFFD, and <, >,
// &, U+2028 and U+2029 are escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf && c != 0x7f {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		case r >= 0x7f && r <= 0x9f:
			// DEL and C1 controls: a terminal may act on U+009B (CSI) as
			// on ESC [; the escape reads back as the same string.
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// EncodeJSON writes v as encoding/json's Encoder does (indented when
// indent is set, HTML characters escaped when html is), with DEL and the
// C1 controls escaped too, as the listing's JSON has them: encoding/json
// writes them raw, and a terminal may act on U+009B (CSI) as on ESC [.
func EncodeJSON(w io.Writer, v any, indent, html bool) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(html)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(escapeControls(buf.Bytes()))
	return err
}

// escapeControls escapes DEL and U+0080-U+009F in encoded JSON. Outside
// strings JSON is ASCII, and in valid UTF-8 (encoding/json's output) the
// bytes 0xC2 0x80-0x9F are exactly those code points, so a byte-level
// replacement changes no value.
func escapeControls(b []byte) []byte {
	const hex = "0123456789abcdef"
	var out []byte
	start := 0
	for i := 0; i < len(b); i++ {
		var r byte
		switch {
		case b[i] == 0x7f:
			r = 0x7f
		case b[i] == 0xc2 && i+1 < len(b) && b[i+1] >= 0x80 && b[i+1] <= 0x9f:
			r = b[i+1]
		default:
			continue
		}
		out = append(out, b[start:i]...)
		out = append(out, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		if r != 0x7f {
			i++
		}
		start = i + 1
	}
	if out == nil {
		return b
	}
	return append(out, b[start:]...)
}
