package capture

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/internal/ascii"
)

// NetstatRow is one row of netstat's unix section (network_cmds unix.c;
// FreeBSD's has the same columns). Every address is the kernel's
// obfuscated address of a socket's unpcb, the value lsof prints as DEVICE.
type NetstatRow struct {
	Address uint64
	Type    inspect.Type
	RecvQ   uint32 // bytes in so_rcv
	SendQ   uint32 // bytes in so_snd
	// Vnode is the column netstat calls Inode: not an inode but the address
	// of the vnode a bind(2) to a filesystem path holds; 0 for every other
	// socket, accepted connections included.
	Vnode uint64
	// Conn is the Address of the socket this one is connected to.
	Conn uint64
	// Refs heads the list of datagram sockets connected to this one and
	// Nextref links that list: the kernel keeps it for SOCK_DGRAM only.
	Refs    uint64
	Nextref uint64
	// Path is the socket's own bound sun_path, raw; an accepted connection
	// carries its listener's. "" when unbound.
	Path string
	// SoState and SoOptions are so_state and so_options, printed by
	// `netstat -v` on macOS 15 and later (HasSo).
	SoState   uint32
	SoOptions uint32
	HasSo     bool
	Line      int
}

// The so_state and so_options bits that matter here (xnu bsd/sys/
// socketvar.h, socket.h).
const (
	ssIsConnected     = 0x2
	ssIsConnecting    = 0x4
	ssIsDisconnecting = 0x8
	soAcceptConn      = 0x2
)

// netstatTypes are the names unix.c prints with "%-6.6s".
var netstatTypes = map[string]inspect.Type{
	"stream": inspect.TypeStream,
	"dgram":  inspect.TypeDgram,
	"raw":    3,
	"rdm":    4,
	"seqpac": inspect.TypeSeqpacket,
}

// netstatBase are the columns every layout starts with, and Addr ends it.
var netstatBase = []string{"Address", "Type", "Recv-Q", "Send-Q", "Inode", "Conn", "Refs", "Nextref"}

// netstatExtra are the columns `netstat -v`/`-b`/`-d` insert between
// Nextref and Addr in network_cmds 644 and later (testdata/macos
// FORMATS.md §3.4 lists the layouts).
var netstatExtra = map[string]bool{
	"rxbytes": true, "txbytes": true, "rxbytes/packets": true, "txbytes/packets": true, "rxdrops": true,
	"rhiwat": true, "shiwat": true, "pid": true, "epid": true, "process:pid": true, "eprocess:epid": true,
	"state": true, "options": true, "gencnt": true, "flags": true, "flags1": true,
	"usecnt": true, "rtncnt": true, "fltrs": true,
}

// procColumn is "%16s:%-6u" in macOS 26: the command name is not cut and
// may hold spaces and colons, so it ends at the first ":pid" followed by a
// blank.
var procColumn = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^ *.*?:[0-9]+( +|$)`) })

// ParseNetstat reads the unix section of macOS or FreeBSD netstat output
// (`netstat -f unix`, plain `netstat`, -a, -An, -Abn, -v) and ignores the
// other families. Empty output has no sockets (netstat prints no section
// then); any other text without a unix section is refused, since it may
// be anything at all.
func ParseNetstat(r io.Reader) ([]NetstatRow, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, nil
	}
	// Text that is no netstat output at all is refused below, whatever its
	// last line.
	titled := bytes.Contains(data, []byte("Active LOCAL (UNIX) domain sockets")) || bytes.Contains(data, []byte("Active UNIX domain sockets"))
	if titled && data[len(data)-1] != '\n' {
		return nil, malformed(bytes.Count(data, []byte("\n"))+1, "capture ends inside a line (truncated)")
	}
	var (
		rows   = make([]NetstatRow, 0, bytes.Count(data, []byte("\n")))
		extra  []string // the current section's -v columns
		inside bool
		start  int // line of the current section's title
		before = len(rows)
		found  bool // a unix section
	)
	lines := strings.Split(string(data), "\n")
	if titled {
		lines = lines[:len(lines)-1]
	}
	for i := 0; i < len(lines); i++ {
		l, n := lines[i], i+1
		switch t := strings.TrimRight(l, " "); {
		case t == "Active LOCAL (UNIX) domain sockets" || t == "Active UNIX domain sockets":
			if inside && len(rows) == before {
				return nil, malformed(start, "unix section has no rows (truncated)")
			}
			if i+1 >= len(lines) {
				return nil, malformed(n, "unix section has no header (truncated)")
			}
			cols, err := netstatHeader(lines[i+1])
			if err != nil {
				return nil, malformed(n+1, "%v", err)
			}
			extra, inside, start, before, found = cols, true, n, len(rows), true
			i++
			continue
		case !inside && strings.HasPrefix(t, "Active UNIX domain sockets ("):
			// net-tools titles its section "(servers and established)",
			// "(only servers)" or "(w/o servers)"; its columns differ.
			return nil, notFormat("Linux netstat output (net-tools netstat -x), not macOS or FreeBSD netstat; for Linux give a copy of /proc/net/unix as procnet:FILE")
		case !inside:
			if looksLikeRow(l) {
				return nil, malformed(n, "unix socket row outside the unix section: %q", l)
			}
			continue
		case strings.HasPrefix(t, "Some ") && strings.Contains(t, "sockets may have been"),
			strings.HasPrefix(t, "unexpected kind "):
			continue // notes unix.c prints between rows
		}
		first, rest, _ := strings.Cut(strings.TrimLeft(l, " "), " ")
		second, _, _ := strings.Cut(strings.TrimLeft(rest, " "), " ")
		if first == "" || !isHex(first) && netstatTypes[second] == 0 {
			// The next section's title, or the blank line before it.
			if len(rows) == before {
				return nil, malformed(start, "unix section has no rows (truncated)")
			}
			inside = false
			continue
		}
		row, err := parseNetstatRow(l, extra)
		if err != nil {
			return nil, malformed(n, "%v in %q", err, l)
		}
		row.Line = n
		rows = append(rows, row)
	}
	if inside && len(rows) == before {
		return nil, malformed(start, "unix section has no rows (truncated)")
	}
	if !found {
		return nil, notFormat(`not macOS or FreeBSD netstat output: no unix section ("Active LOCAL (UNIX) domain sockets" or "Active UNIX domain sockets" and its header)`)
	}
	return rows, nil
}

// netstatHeader checks the column header and returns the columns between
// Nextref and Addr.
func netstatHeader(h string) ([]string, error) {
	cols := strings.Fields(h)
	if len(cols) < len(netstatBase)+1 || !slices.Equal(cols[:len(netstatBase)], netstatBase) || cols[len(cols)-1] != "Addr" {
		return nil, fmt.Errorf("unknown unix header %q", h)
	}
	extra := cols[len(netstatBase) : len(cols)-1]
	for _, c := range extra {
		if !netstatExtra[c] {
			return nil, fmt.Errorf("unknown column %q in unix header %q", c, h)
		}
	}
	return extra, nil
}

// parseNetstatRow reads "%16llx %-6.6s %6u %6u %16llx %16llx %16llx %16llx",
// the extra columns, then " %.*s" with the path when the socket has one.
func parseNetstatRow(l string, extra []string) (NetstatRow, error) {
	var r NetstatRow
	rest := l
	next := func() string {
		rest = strings.TrimLeft(rest, " ")
		tok, after, _ := strings.Cut(rest, " ")
		rest = after
		return tok
	}
	var cols [7]string
	for i := range cols {
		if cols[i] = next(); cols[i] == "" {
			return r, fmt.Errorf("missing %s", netstatBase[i])
		}
	}
	t, ok := netstatTypes[cols[1]]
	if !ok {
		return r, fmt.Errorf("unknown type %q", cols[1])
	}
	r.Type = t
	for _, c := range []struct {
		i   int
		dst *uint32
	}{{2, &r.RecvQ}, {3, &r.SendQ}} {
		v, err := strconv.ParseUint(cols[c.i], 10, 32)
		if err != nil {
			return r, fmt.Errorf("%s %q is not a number", netstatBase[c.i], cols[c.i])
		}
		*c.dst = uint32(v)
	}
	for _, c := range []struct {
		i   int
		dst *uint64
	}{{0, &r.Address}, {4, &r.Vnode}, {5, &r.Conn}, {6, &r.Refs}} {
		v, err := parseHex(cols[c.i])
		if err != nil {
			return r, fmt.Errorf("%s %q is not hex", netstatBase[c.i], cols[c.i])
		}
		*c.dst = v
	}
	// rest now starts right after the one blank that precedes Nextref.
	var nextref string
	if len(extra) == 0 {
		nextref, rest, _ = strings.Cut(strings.TrimLeft(rest, " "), " ")
		r.Path = rest
	} else {
		// 644 prints the -v columns straight after Nextref with no blank,
		// but Nextref is always exactly 16 wide.
		if len(rest) < 16 {
			return r, fmt.Errorf("missing Nextref")
		}
		nextref, rest = strings.TrimLeft(rest[:16], " "), rest[16:]
		for _, c := range extra {
			if c == "process:pid" || c == "eprocess:epid" {
				m := procColumn().FindStringIndex(rest)
				if m == nil {
					return r, fmt.Errorf("missing %s", c)
				}
				rest = rest[m[1]:]
				continue
			}
			rest = strings.TrimLeft(rest, " ")
			tok, after, _ := strings.Cut(rest, " ")
			if tok == "" {
				return r, fmt.Errorf("missing %s", c)
			}
			rest = after
			var err error
			switch c {
			case "state":
				err = parseHex32(tok, &r.SoState)
				r.HasSo = true
			case "options":
				err = parseHex32(tok, &r.SoOptions)
			}
			if err != nil {
				return r, fmt.Errorf("%s %q is not a number", c, tok)
			}
		}
		// These layouts put one or two blanks before the path (and one
		// after the last column when there is none), so a path that
		// itself starts with a blank loses it here.
		r.Path = strings.TrimLeft(rest, " ")
	}
	if nextref == "" {
		return r, fmt.Errorf("missing Nextref")
	}
	v, err := parseHex(nextref)
	if err != nil {
		//lint:ignore ST1005 Nextref is the column as netstat's header spells it, like the other columns' errors
		return r, fmt.Errorf("Nextref %q is not hex", nextref)
	}
	r.Nextref = v
	return r, nil
}

func parseHex(s string) (uint64, error) {
	if !isHex(s) {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(s, 16, 64)
}

func parseHex32(s string, dst *uint32) error {
	v, err := strconv.ParseUint(s, 16, 32)
	*dst = uint32(v)
	return err
}

// isHex reports a value printed with %llx: 1 to 16 hex digits.
func isHex(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ascii.IsHex(s[i]) {
			return false
		}
	}
	return true
}

// looksLikeRow reports a line with a unix row's first two columns.
func looksLikeRow(l string) bool {
	f := strings.Fields(l)
	if len(f) < 2 || !isHex(f[0]) {
		return false
	}
	_, ok := netstatTypes[f[1]]
	return ok
}
