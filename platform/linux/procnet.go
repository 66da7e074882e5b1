// Package linux reads Unix domain sockets and their holders from the Linux
// kernel: /proc/net/unix and the /proc/[pid]/fd links.
package linux

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/internal/ascii"
)

// ErrMalformed is wrapped by every error about input that is not in the
// format of /proc/net/unix.
var ErrMalformed = errors.New("malformed")

// procNetUnixHeader is the only header unix_seq_show (net/unix/af_unix.c)
// has ever written.
const procNetUnixHeader = "Num       RefCount Protocol Flags    Type St Inode Path"

// soAcceptCon is __SO_ACCEPTCON, which the Flags column shows for listeners.
const soAcceptCon = 1 << 16

// ParseProcNetUnix parses the contents of /proc/net/unix.
//
// Sockets with inode 0 are kept: they are server ends of connections that
// no one has accepted yet, or sockets whose file is being released, and
// have no fd and so no holder; several may share ID 0.
//
// The kernel writes names raw, so a name holding a newline continues on
// the next line. A line that is not a socket record therefore continues the
// name of the last named socket before it (dropping any records parsed in
// between, which were part of that name); only when there is no such socket
// is it an error. This keeps any name from making the whole file unreadable,
// but a name that imitates a whole record still reads as an extra socket,
// and a relative path starting with "@" reads as an abstract name: only
// sock_diag gives exact names.
func ParseProcNetUnix(r io.Reader) ([]inspect.Socket, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read /proc/net/unix: %w", err)
	}
	return parseProcNetUnix(data, "/proc/net/unix")
}

// parseProcNetUnix parses data read from the file called name, which only
// serves to make errors say where they come from.
func parseProcNetUnix(data []byte, name string) ([]inspect.Socket, error) {
	// One string for the whole file lets every path be a substring of it
	// instead of an allocation of its own.
	text := string(data)
	header, rest := cutLine(text)
	if header != procNetUnixHeader {
		reason := "unknown, want " + strconv.Quote(procNetUnixHeader)
		if text == "" {
			reason = "missing"
		}
		return nil, fmt.Errorf("%s line 1: %w", name, &fieldError{field: "header", value: header, reason: reason})
	}
	socks := make([]inspect.Socket, 0, bytes.Count(data, []byte{'\n'}))
	// named is the index in socks of the last named socket, pathStart the
	// offset in text where its path begins.
	named, pathStart := -1, 0
	offset := len(header) + 1
	for n := 2; rest != ""; n++ {
		var line string
		line, rest = cutLine(rest)
		s, pathAt, ferr := parseRecord(line)
		switch {
		case ferr == nil:
			if pathAt >= 0 {
				named, pathStart = len(socks), offset+pathAt
			}
			socks = append(socks, s)
		case named >= 0:
			socks = socks[:named+1]
			setPath(&socks[named], text[pathStart:offset+len(line)])
		default:
			return nil, fmt.Errorf("%s line %d: %w", name, n, ferr)
		}
		offset += len(line) + 1
	}
	return dropDuplicates(socks), nil
}

// cutLine splits s after its first line; the newline belongs to neither part.
func cutLine(s string) (line, rest string) {
	line, rest, _ = strings.Cut(s, "\n")
	return line, rest
}

// parseRecord parses one socket line,
//
//	"%pK: %08X %08X %08X %04X %02X %5lu" [" " path]
//
// and returns where in line the path starts, or -1 for an unnamed socket.
func parseRecord(line string) (s inspect.Socket, pathAt int, err error) {
	p := fieldParser{line: line}
	p.pointer()
	p.hex("refcount", 8)
	p.hex("protocol", 8)
	flags := p.hex("flags", 8)
	typ := p.hex("type", 4)
	st := p.hex("st", 2)
	ino := p.inode()
	if p.err != nil {
		return s, -1, p.err
	}
	if typ > 0xff {
		return s, -1, &fieldError{field: "type", value: fmt.Sprintf("%04X", typ), reason: "out of range"}
	}
	// St is one of SS_UNCONNECTED..SS_DISCONNECTING, inspect's values 1-4;
	// anything else means the line is not what we think it is.
	if st < 1 || st > 4 {
		return s, -1, &fieldError{field: "st", value: fmt.Sprintf("%02X", st), reason: "unknown socket state"}
	}
	s = inspect.Socket{ID: inspect.SocketID(ino), Type: inspect.Type(typ), State: inspect.State(st)}
	if flags&soAcceptCon != 0 {
		s.State = inspect.StateListening
	}
	if p.i == len(line) {
		return s, -1, nil
	}
	// The kernel writes one space, then the name: no bound name is empty.
	if line[p.i] != ' ' || p.i+1 == len(line) {
		return s, -1, &fieldError{field: "path", value: line[p.i:], reason: "want one space and a name"}
	}
	setPath(&s, line[p.i+1:])
	return s, p.i + 1, nil
}

// setPath sets a socket's name as the kernel printed it. Abstract names
// start with "@" in place of the leading NUL; kernels before 2.6.27 wrote
// the NUL itself.
func setPath(s *inspect.Socket, path string) {
	if path[0] == 0 {
		path = "@" + path[1:]
	}
	s.Path, s.Abstract = path, path[0] == '@'
}

// fieldParser walks the fixed columns of a record, remembering the first
// error so the caller checks once.
type fieldParser struct {
	line  string
	i     int // next byte to read
	start int // where the last field read begins, for error messages
	err   error
}

// pointer reads the socket address and its colon, "%pK:". Its width is
// that of a pointer on the kernel that wrote it.
func (p *fieldParser) pointer() {
	for p.i < len(p.line) && p.i < 16 && ascii.IsHex(p.line[p.i]) {
		p.i++
	}
	if p.i == 0 || p.i == len(p.line) || p.line[p.i] != ':' {
		p.fail("num", "want a hex address and a colon")
	}
	p.i++
}

// hex reads a space and a field of exactly width hex digits.
func (p *fieldParser) hex(field string, width int) uint64 {
	if !p.space(field) {
		return 0
	}
	if len(p.line)-p.i < width {
		p.fail(field, fmt.Sprintf("want %d hex digits", width))
		return 0
	}
	var v uint64
	for _, c := range []byte(p.line[p.i : p.i+width]) {
		if !ascii.IsHex(c) {
			p.fail(field, fmt.Sprintf("want %d hex digits", width))
			return 0
		}
		v = v<<4 | uint64(unhex(c))
	}
	p.i += width
	if !p.atFieldEnd() {
		p.fail(field, fmt.Sprintf("want %d hex digits", width))
	}
	return v
}

// inode reads the last fixed column, a space and a decimal right-aligned in
// at least five places ("%5lu").
func (p *fieldParser) inode() uint64 {
	if !p.space("inode") {
		return 0
	}
	for p.i < len(p.line) && p.line[p.i] == ' ' {
		p.i++
	}
	digits := p.i
	padding := digits - p.start
	p.start = digits // errors quote the number without its padding
	var v uint64
	for p.i < len(p.line) && ascii.IsDigit(p.line[p.i]) {
		d := uint64(p.line[p.i] - '0')
		if v > (1<<64-1-d)/10 {
			p.fail("inode", "out of range")
			return 0
		}
		v = v*10 + d
		p.i++
	}
	n := p.i - digits
	switch {
	case n == 0 || !p.atFieldEnd():
		p.fail("inode", "want a decimal number")
	case padding != max(0, 5-n):
		p.fail("inode", "want it right-aligned in 5 places")
	}
	return v
}

// space reads the separator before a field and marks the field's start.
func (p *fieldParser) space(field string) bool {
	if p.err != nil {
		return false
	}
	p.start = p.i
	if p.i == len(p.line) {
		p.err = &fieldError{field: field, reason: "missing"}
		return false
	}
	if p.line[p.i] != ' ' {
		p.fail(field, "want a space before it")
		return false
	}
	p.i++
	p.start = p.i
	return true
}

func (p *fieldParser) atFieldEnd() bool { return p.i == len(p.line) || p.line[p.i] == ' ' }

// fail records a bad field, quoting it up to the next space.
func (p *fieldParser) fail(field, reason string) {
	if p.err != nil {
		return
	}
	end := p.start
	for end < len(p.line) && p.line[end] != ' ' {
		end++
	}
	p.err = &fieldError{field: field, value: p.line[p.start:end], reason: reason}
}

// fieldError says which column of a record is wrong and why.
type fieldError struct {
	field, value, reason string
}

func (e *fieldError) Error() string {
	if e.value == "" {
		return e.field + ": " + e.reason
	}
	return fmt.Sprintf("%s %q: %s", e.field, e.value, e.reason)
}

func (e *fieldError) Unwrap() error { return ErrMalformed }

func unhex(c byte) byte {
	switch {
	case ascii.IsDigit(c):
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
