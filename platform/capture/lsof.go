package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/internal/ascii"
)

// ErrMalformed is wrapped by every error about input that is not lsof or
// netstat output of a known layout, or that was cut short.
var ErrMalformed = errors.New("malformed")

func malformed(line int, format string, a ...any) error {
	return fmt.Errorf("line %d: %w: %s", line, ErrMalformed, fmt.Sprintf(format, a...))
}

// notFormat is the error for input that is not the output expected at
// all, rather than that output damaged: it has no line to point at.
type notFormat string

func (e notFormat) Error() string        { return string(e) }
func (e notFormat) Is(target error) bool { return target == ErrMalformed }

// unknownUID stands for a holder's uid when the capture does not carry it
// (a table listing shows only the login name), with UIDUnknown set; it is
// (uid_t)-1, which no account has, should anything read it regardless.
const unknownUID = ^uint32(0)

// Lsof is what lsof said about AF_UNIX sockets and the processes that hold
// them.
type Lsof struct {
	Files []LsofFile
	// Processes holds what lsof printed about each pid that holds a socket.
	Processes map[int]inspect.Process
	// Inodes says that the IDs are socket inodes: Linux lsof prints them,
	// macOS lsof does not, and then IDs are kernel addresses.
	Inodes bool
}

// LsofFile is one unix socket at one descriptor: a file set of the -F
// output, or a row of the table.
type LsofFile struct {
	PID int
	FD  int // -1 when lsof printed something other than a number
	// ID is the inode where lsof printed one (Linux), otherwise Device.
	ID inspect.SocketID
	// Device is lsof's DEVICE: the kernel address of the socket's protocol
	// control block, which netstat prints as Address (macOS).
	Device uint64
	Path   string
	// Abstract marks a Linux abstract name ("@name"); macOS has none.
	Abstract bool
	// Peer is the other end where lsof names it ("->0x..." on macOS,
	// "->INO=" with Linux +E); PeerKnown also covers "->(none)".
	Peer      inspect.SocketID
	PeerKnown bool
	Type      inspect.Type  // 0 when lsof does not say (macOS)
	State     inspect.State // 0 when lsof does not say
	Line      int           // where the file set or row starts
}

// ParseLsof parses lsof output of unix sockets in the field format (-F,
// with NL or NUL terminators) or the table format, whichever r holds.
func ParseLsof(r io.Reader) (*Lsof, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 || fieldsStart(data) {
		return parseLsofFields(data)
	}
	return parseLsofTable(data)
}

// fieldsStart reports input that starts as -F output does: lsof always
// begins it with a process set's p field. Anything else is taken for the
// table, with or without its header, which may start with any other row
// (an excerpt of `lsof -p PID` pasted into a bug report).
func fieldsStart(data []byte) bool {
	data = bytes.TrimLeft(data, "\n")
	end := bytes.IndexAny(data, "\n\x00")
	if end < 0 {
		end = len(data)
	}
	return len(data) > 1 && data[0] == 'p' && ascii.Digits(string(data[1:end]))
}

// ParseLsofFields parses `lsof -F` output. Fields are keyed on their
// identifier character, never on their order (lsof's proc.c prints a
// process set p g R c u L, then file sets f a l t ... d ... i ... n T...).
func ParseLsofFields(r io.Reader) (*Lsof, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return parseLsofFields(data)
}

type lsofProc struct {
	pid     int
	line    int
	sets    int // file sets of any type
	command string
	uid     uint32
	hasUID  bool
	hasCmd  bool
	login   string
	files   int
}

type lsofSet struct {
	fd, typ, dev, ino, name string
	hasName                 bool
	states                  []string
	// line is where the set starts, the others where their field is.
	line, devLine, inoLine, nameLine int
}

func parseLsofFields(data []byte) (*Lsof, error) {
	if len(data) == 0 {
		return &Lsof{Processes: map[int]inspect.Process{}}, nil
	}
	// With 0 in the field list every field ends in NUL and lsof adds a NL
	// after each set; otherwise every field ends in NL. lsof escapes NL and
	// NUL inside values, so splitting on the terminator is exact.
	term := byte('\n')
	if bytes.IndexByte(data, 0) >= 0 {
		term = 0
	}
	var (
		out     = &Lsof{Processes: map[int]inspect.Process{}}
		proc    *lsofProc
		set     *lsofSet
		named   int // unix file sets with an n field
		unnamed []int
	)
	finishSet := func() error {
		if set == nil {
			return nil
		}
		s := set
		set = nil
		if s.typ != "unix" {
			return nil
		}
		f, err := s.file(proc.pid)
		if err != nil {
			return err
		}
		if s.hasName {
			named++
		} else {
			unnamed = append(unnamed, s.line)
		}
		if s.ino != "" {
			out.Inodes = true
		}
		out.Files = append(out.Files, f)
		proc.files++
		return nil
	}
	finishProc := func() error {
		if err := finishSet(); err != nil {
			return err
		}
		if proc == nil {
			return nil
		}
		p := proc
		proc = nil
		if p.sets == 0 {
			return malformed(p.line, "process %d has no file sets (truncated, or f missing from the -F fields)", p.pid)
		}
		if p.files == 0 {
			return nil
		}
		if p.hasCmd {
			proc := inspect.Process{PID: p.pid, Command: p.command, UID: p.uid, User: p.login}
			if !p.hasUID {
				proc.UID, proc.UIDUnknown = unknownUID, true
			}
			out.Processes[p.pid] = proc
		}
		return nil
	}

	line, procs := 1, 0
	for len(data) > 0 {
		if term == 0 && len(bytes.Trim(data, "\n")) == 0 {
			break
		}
		i := bytes.IndexByte(data, term)
		if i < 0 {
			return nil, malformed(line, "capture ends inside field %q (truncated)", string(data))
		}
		field := data[:i]
		data = data[i+1:]
		if term == 0 {
			// The NL lsof writes after a set sits before the next field.
			for len(field) > 0 && field[0] == '\n' {
				field = field[1:]
				line++
			}
		}
		fline := line
		if term == '\n' {
			line++
		}
		if len(field) == 0 {
			return nil, malformed(fline, "empty field")
		}
		id, val := field[0], string(field[1:])
		switch {
		case id == 'p':
			if err := finishProc(); err != nil {
				return nil, err
			}
			pid, err := strconv.Atoi(val)
			if err != nil || pid <= 0 {
				return nil, malformed(fline, "pid %q is not a positive number", val)
			}
			proc = &lsofProc{pid: pid, line: fline}
			procs++
		case proc == nil:
			return nil, malformed(fline, "field %q comes before the first process set (p)", string(field))
		case id == 'f':
			if err := finishSet(); err != nil {
				return nil, err
			}
			set = &lsofSet{fd: val, line: fline}
			proc.sets++
		case set == nil:
			switch id {
			case 'c':
				proc.command, proc.hasCmd = unescape(val), true
			case 'u':
				uid, err := strconv.ParseUint(val, 10, 32)
				if err != nil {
					return nil, malformed(fline, "uid %q is not a number", val)
				}
				proc.uid, proc.hasUID = uint32(uid), true
			case 'L':
				proc.login = unescape(val)
			}
		default:
			switch id {
			case 't':
				set.typ = val
			case 'd':
				set.dev, set.devLine = val, fline
			case 'i':
				set.ino, set.inoLine = val, fline
			case 'n':
				set.name, set.hasName, set.nameLine = unescape(val), true, fline
			case 'T':
				if st, ok := strings.CutPrefix(val, "ST="); ok {
					set.states = append(set.states, st)
				}
			}
		}
	}
	if err := finishProc(); err != nil {
		return nil, err
	}
	// lsof always names a unix socket when n is selected, so a set without
	// one, where others have it, was cut short.
	if named > 0 && len(unnamed) > 0 {
		return nil, malformed(unnamed[0], "socket without a name field (n) where others have one (truncated?)")
	}
	if procs == 0 {
		return nil, malformed(1, "no process set (p): not lsof -F output")
	}
	return out, nil
}

// file interprets a unix file set.
func (s *lsofSet) file(pid int) (LsofFile, error) {
	f := LsofFile{PID: pid, FD: -1, Line: s.line}
	if fd, err := strconv.Atoi(s.fd); err == nil && fd >= 0 {
		f.FD = fd
	}
	if s.dev == "" && s.ino == "" {
		return f, malformed(s.line, "socket at fd %q has neither device (d) nor inode (i) (truncated?)", s.fd)
	}
	if s.dev != "" {
		dev, err := parseAddr(s.dev)
		if err != nil {
			return f, malformed(s.devLine, "device %q is not a 0x address", s.dev)
		}
		f.Device, f.ID = dev, inspect.SocketID(dev)
	}
	if s.ino != "" {
		ino, err := strconv.ParseUint(s.ino, 10, 64)
		if err != nil {
			return f, malformed(s.inoLine, "inode %q is not a number", s.ino)
		}
		f.ID = inspect.SocketID(ino)
	}
	if s.hasName {
		if err := f.setName(s.name); err != nil {
			return f, malformed(s.nameLine, "%v", err)
		}
	}
	for _, st := range s.states {
		if v, ok := linuxStates[st]; ok {
			f.State = v
		}
	}
	return f, nil
}

// parseAddr reads a kernel address as lsof prints it: "0x%08lx", so 8 to
// 16 digits; compare the numbers, never the strings.
func parseAddr(s string) (uint64, error) {
	h, ok := strings.CutPrefix(s, "0x")
	if !ok || h == "" || len(h) > 16 {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(h, 16, 64)
}

var linuxStates = map[string]inspect.State{
	"UNCONNECTED":   inspect.StateUnconnected,
	"CONNECTING":    inspect.StateConnecting,
	"CONNECTED":     inspect.StateConnected,
	"DISCONNECTING": inspect.StateDisconnecting,
	"LISTEN":        inspect.StateListening,
}

var linuxTypes = map[string]inspect.Type{
	"STREAM":    inspect.TypeStream,
	"DGRAM":     inspect.TypeDgram,
	"SEQPACKET": inspect.TypeSeqpacket,
}

// linuxName is Linux lsof's NAME for a unix socket (dialects/linux
// dsock.c): an optional path or @abstract name, "type=", with +E the peer
// inode and its holders, and in the table the state in parentheses.
var linuxName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:(.*) )?type=([A-Z]+)(?: ->INO=([0-9]+)[^()]*)?(?: \(([A-Z]+)\))?$`)
})

// setName interprets a NAME. On macOS (dialects/darwin/libproc/dsock.c)
// it is the bound path, "->0x<peer address>" for an unbound connected
// socket, "->(none)" for an unbound unconnected one, or one of two
// notes; Linux lsof's form is recognised by its "type=".
func (f *LsofFile) setName(name string) error {
	if m := linuxName().FindStringSubmatch(name); m != nil {
		f.Path = m[1]
		f.Abstract = strings.HasPrefix(f.Path, "@")
		if t, ok := linuxTypes[m[2]]; ok {
			f.Type = t
		}
		if m[3] != "" {
			ino, err := strconv.ParseUint(m[3], 10, 64)
			if err != nil {
				return fmt.Errorf("peer inode %q: %v", m[3], err)
			}
			f.Peer, f.PeerKnown = inspect.SocketID(ino), true
		}
		if m[4] != "" {
			f.State = linuxStates[m[4]]
		}
		return nil
	}
	switch {
	case name == "->(none)":
		f.PeerKnown, f.State = true, inspect.StateUnconnected
	case strings.HasPrefix(name, "->0x"):
		peer, err := parseAddr(name[2:])
		if err != nil {
			return fmt.Errorf("peer %q is not a 0x address", name)
		}
		f.Peer, f.PeerKnown, f.State = inspect.SocketID(peer), true, inspect.StateConnected
	case name == "no address" || strings.HasPrefix(name, "unknown sun_family ("):
		// Bound with an empty name, or not AF_UNIX after all: no path.
	default:
		f.Path = name
	}
	return nil
}

// unescape undoes lsof's safestrprt() (misc.c): \b \f \n \r \t, ^@ to ^_
// for other control bytes, ^? for 0xff and \xNN for the rest of the
// unprintable bytes. lsof does not escape a literal backslash or caret,
// so a name that really holds "^A" or "\x41" reads back wrong: netstat's
// raw path wins wherever both tools list the socket.
func unescape(s string) string {
	if !strings.ContainsAny(s, `\^`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i+1 < len(s) {
			n := s[i+1]
			switch {
			case c == '^' && n >= '@' && n <= '_':
				b.WriteByte(n - '@')
				i++
				continue
			case c == '^' && n == '?':
				b.WriteByte(0xff)
				i++
				continue
			case c == '\\' && strings.IndexByte("bfnrt", n) >= 0:
				b.WriteByte("\b\f\n\r\t"[strings.IndexByte("bfnrt", n)])
				i++
				continue
			case c == '\\' && n == 'x' && i+3 < len(s):
				if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
					b.WriteByte(byte(v))
					i += 3
					continue
				}
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// tableRow is a unix row of the lsof table: COMMAND (up to 9 bytes by
// default, and it may hold spaces, so it is whatever precedes PID), PID,
// USER, FD with its mode and lock letters, TYPE, DEVICE, SIZE/OFF, and the
// rest: NODE (Linux only) and NAME.
var tableRow = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(.+?) +([0-9]+) +(\S+) +([0-9]+)[a-zA-Z]* +unix +(0x[0-9a-fA-F]+) +(\S+)(.*)$`)
})

// tableHeader is the only column set we read: lsof's default with -s or -o
// choosing SIZE or OFF instead of SIZE/OFF.
var tableHeader = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^COMMAND +PID +USER +FD +TYPE +DEVICE +(SIZE/OFF|SIZE|OFF) +NODE +NAME$`)
})

// parseLsofTable parses lsof's table (`lsof -U`), with or without its
// header. It serves captures that exist only in that form; the backend
// uses -F. lsof sizes columns to fit, so NAME starts under the header's
// NAME and is the rest of the line (spaces included); where a row is not
// aligned with the header (hand-edited excerpts) NAME is what follows the
// last column, leading blanks dropped.
func parseLsofTable(data []byte) (*Lsof, error) {
	out := &Lsof{Processes: map[int]inspect.Process{}}
	nameCol, rows, badRow := -1, 0, 0
	lines := strings.Split(string(data), "\n")
	// A last line without its NL is judged once the text is known to be
	// lsof's: it was cut short.
	last := lines[len(lines)-1]
	lines = lines[:len(lines)-1]
	for i, l := range lines {
		n := i + 1
		if strings.TrimSpace(l) == "" {
			continue
		}
		if nameCol < 0 && strings.HasPrefix(l, "COMMAND") {
			if !tableHeader().MatchString(strings.TrimRight(l, " ")) {
				return nil, malformed(n, "unknown lsof header %q", l)
			}
			nameCol = strings.Index(l, "NAME")
			continue
		}
		m := tableRow().FindStringSubmatchIndex(l)
		if m == nil {
			if strings.Contains(" "+l+" ", " unix ") && badRow == 0 {
				// Judged once the text is known to be lsof's.
				badRow = n
			}
			continue // a file of another type
		}
		rows++
		sub := func(k int) string { return l[m[2*k]:m[2*k+1]] }
		pid, err := strconv.Atoi(sub(2))
		if err != nil || pid <= 0 {
			return nil, malformed(n, "pid %q is not a positive number", sub(2))
		}
		fd, err := strconv.Atoi(sub(4))
		if err != nil {
			return nil, malformed(n, "fd %q is not a number", sub(4))
		}
		dev, err := parseAddr(sub(5))
		if err != nil {
			return nil, malformed(n, "device %q is not a 0x address", sub(5))
		}
		f := LsofFile{PID: pid, FD: fd, ID: inspect.SocketID(dev), Device: dev, Line: n}
		restAt := m[13]
		rest := strings.TrimLeft(l[restAt:], " ")
		// Linux fills NODE with the inode, and its NAME says type=, or
		// just "socket" in older lsof (4.8x), which may also leave
		// SIZE/OFF blank so that NODE comes right after DEVICE.
		linux := false
		if node, after, ok := strings.Cut(rest, " "); ok && ascii.Digits(node) && (linuxName().MatchString(strings.TrimLeft(after, " ")) || strings.TrimLeft(after, " ") == "socket") {
			ino, err := strconv.ParseUint(node, 10, 64)
			if err != nil {
				return nil, malformed(n, "inode %q: %v", node, err)
			}
			f.ID, out.Inodes, linux = inspect.SocketID(ino), true, true
			restAt += strings.Index(l[restAt:], node) + len(node)
			rest = strings.TrimLeft(after, " ")
		} else if node := sub(6); rest == "socket" && ascii.Digits(node) {
			ino, err := strconv.ParseUint(node, 10, 64)
			if err != nil {
				return nil, malformed(n, "inode %q: %v", node, err)
			}
			f.ID, out.Inodes, linux = inspect.SocketID(ino), true, true
		}
		name := rest
		if nameCol >= restAt && nameCol <= len(l) && strings.TrimLeft(l[restAt:nameCol], " ") == "" {
			name = l[nameCol:]
		}
		// Old Linux lsof's "socket" names no path: it found no
		// /proc/net/unix line for the inode.
		if !linux || name != "socket" {
			if err := f.setName(unescape(name)); err != nil {
				return nil, malformed(n, "%v", err)
			}
		}
		out.Files = append(out.Files, f)
		if _, ok := out.Processes[pid]; !ok {
			p := inspect.Process{PID: pid, Command: unescape(sub(1)), UID: unknownUID, UIDUnknown: true, User: sub(3)}
			// With -l lsof prints the uid instead of the login name.
			if uid, err := strconv.ParseUint(p.User, 10, 32); err == nil {
				p.UID, p.UIDUnknown, p.User = uint32(uid), false, ""
			}
			out.Processes[pid] = p
		}
	}
	if badRow > 0 && (nameCol >= 0 || rows > 0) {
		return nil, malformed(badRow, "unix row %q does not have the lsof columns", lines[badRow-1])
	}
	if last != "" && (nameCol >= 0 || rows > 0 || tableRow().MatchString(last)) {
		return nil, malformed(len(lines)+1, "capture ends inside a line (truncated)")
	}
	if nameCol < 0 && rows == 0 {
		return nil, notFormat("not lsof output: want the lsof -U table (with its COMMAND PID USER FD TYPE DEVICE header, or unix rows) or -F fields (starting with p<pid>)")
	}
	return out, nil
}
