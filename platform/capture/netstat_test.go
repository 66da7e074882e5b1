package capture

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
)

func TestParseNetstatCaptures(t *testing.T) {
	s, d, q := inspect.TypeStream, inspect.TypeDgram, inspect.TypeSeqpacket
	for _, tt := range []struct {
		file string
		// rows per type, and the line of the first and the last row
		types       map[inspect.Type]int
		first, last int
		// taken for listeners; datagram sockets with senders (Refs != 0)
		listening, refs int
		warnings        []string
		// rows checked whole, by line
		rows []NetstatRow
	}{
		{
			file: "netstat-jc-osx-10.14.6.txt", types: map[inspect.Type]int{s: 324, d: 101}, first: 165, last: 589, listening: 54, refs: 45,
			rows: []NetstatRow{
				{Address: 0x7fb03cb94a63a7cd, Type: s, RecvQ: 1, Conn: 0x7fb03cb94a63cedd, Line: 165},
				{Address: 0x7fb03cb95130cbb5, Type: s, Vnode: 0x7fb03cb937de855d, Path: "/Library/Application Support/LANDesk/tmp/socket/sys", Line: 286},
				{Address: 0x7fb03cb93501c195, Type: d, Vnode: 0x7fb03cb934ff43e5, Refs: 0x7fb03cb94a63c89d, Path: "/private//var/run/syslog", Line: 589},
			},
		},
		{file: "netstat-An-jc-osx-10.14.6.txt", types: map[inspect.Type]int{s: 302, d: 98}, first: 143, last: 542, listening: 54, refs: 43},
		{file: "netstat-Abn-jc-osx-10.14.6.txt", types: map[inspect.Type]int{s: 302, d: 98}, first: 143, last: 542, listening: 54, refs: 43},
		{
			file: "netstat-a-artezgda-lola-osx-2016.txt", types: map[inspect.Type]int{s: 369, d: 51}, first: 59, last: 478, listening: 25, refs: 47,
			rows: []NetstatRow{
				{Address: 0xf809cb9ab227f80b, Type: d, Vnode: 0xf809cb9ab28fb673, Refs: 0xf809cb9aba635f73, Path: "/var/run/syslog", Line: 478},
			},
		},
		{
			file: "netstat-himudigonda-macos-2021.txt", types: map[inspect.Type]int{s: 182, d: 90}, first: 52, last: 323, listening: 30, refs: 23,
			rows: []NetstatRow{
				{Address: 0x5264b0a3825786dd, Type: d, Vnode: 0x5264b0a382572e15, Refs: 0x5264b0a3969d8105, Path: "/private//var/run/syslog", Line: 323},
			},
		},
		{
			file: "netstat-au-kunnan-macos-10.13-excerpt.txt", types: map[inspect.Type]int{s: 5}, first: 3, last: 7,
			warnings: []string{"netstat: 1 connected socket whose peer is missing or does not point back"},
		},
		{
			file: "netstat-an-parse-netstat-darwin.txt", types: map[inspect.Type]int{s: 4}, first: 13, last: 16, listening: 1,
			warnings: []string{"netstat: 1 connected socket whose peer is missing or does not point back"},
		},
		{
			file: "netstat-unix-excerpt-testinfra-macos-2017.txt", types: map[inspect.Type]int{s: 5, d: 2}, first: 3, last: 9, listening: 1, refs: 1,
			warnings: []string{
				"netstat: 2 connected sockets whose peer is missing or does not point back",
				"netstat: 1 datagram socket whose reference list does not match its senders",
			},
			rows: []NetstatRow{
				{Address: 0xeae3c6f3ba092a95, Type: d, Conn: 0xeae3c6f3b1b87b5d, Nextref: 0xeae3c6f3ba092c25, Line: 8},
			},
		},
		{
			file: "freebsd-netstat-Aa-jc-freebsd12.txt", types: map[inspect.Type]int{s: 6, d: 7, q: 1}, first: 11, last: 24, listening: 2, refs: 2,
			rows: []NetstatRow{
				{Address: 0xfffff80003ac3e00, Type: d, Conn: 0xfffff80003ab6c00, Nextref: 0xfffff80003ab6400, Line: 17},
				{Address: 0xfffff80003ab6e00, Type: q, Vnode: 0xfffff80003c58000, Path: "/var/run/devd.seqpacket.pipe", Line: 24},
			},
		},
		{file: "freebsd-netstat-AaT-jc-freebsd12.txt", types: map[inspect.Type]int{s: 6, d: 7, q: 1}, first: 11, last: 24, listening: 2, refs: 2},
		{file: "freebsd-netstat-AanP-jc-freebsd12.txt", types: map[inspect.Type]int{s: 6, d: 7, q: 1}, first: 11, last: 24, listening: 2, refs: 2},
		{file: "freebsd-netstat-Aax-jc-freebsd12.txt", types: map[inspect.Type]int{s: 6, d: 7, q: 1}, first: 11, last: 24, listening: 2, refs: 2},
		{file: "freebsd-netstat-aT-jc-freebsd12.txt", types: map[inspect.Type]int{s: 6, d: 7, q: 1}, first: 11, last: 24, listening: 2, refs: 2},
		{file: "freebsd-netstat-an-jc-freebsd12.txt", types: map[inspect.Type]int{s: 6, d: 7, q: 1}, first: 11, last: 24, listening: 2, refs: 2},
		{
			// The 8-wide header over 16-digit values.
			file: "freebsd-netstat-an-parse-netstat-freebsd-10.1.txt", types: map[inspect.Type]int{s: 18, d: 8, q: 1}, first: 41, last: 67, listening: 7, refs: 2,
			rows: []NetstatRow{
				{Address: 0xfffff8001b0bc5a0, Type: s, Vnode: 0xfffff80011150938, Path: "/tmp/ssh-52dQiqRzC4/agent.35116", Line: 43},
			},
		},
		{file: "freebsd-netstat-an-parse-netstat-freebsd-9.2.txt", types: map[inspect.Type]int{s: 11, d: 6}, first: 42, last: 58, listening: 3, refs: 2},
	} {
		t.Run(tt.file, func(t *testing.T) {
			rows, err := ParseNetstat(bytes.NewReader(readCapture(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			types := map[inspect.Type]int{}
			refs := 0
			byLine := map[int]NetstatRow{}
			for _, r := range rows {
				types[r.Type]++
				byLine[r.Line] = r
				if r.Refs != 0 {
					refs++
				}
			}
			if diff := cmp.Diff(tt.types, types); diff != "" {
				t.Errorf("rows per type (-want +got)\n%s", diff)
			}
			if rows[0].Line != tt.first || rows[len(rows)-1].Line != tt.last {
				t.Errorf("rows on lines %d to %d, want %d to %d", rows[0].Line, rows[len(rows)-1].Line, tt.first, tt.last)
			}
			if refs != tt.refs {
				t.Errorf("%d datagram sockets with senders, want %d", refs, tt.refs)
			}
			for _, want := range tt.rows {
				if diff := cmp.Diff(want, byLine[want.Line]); diff != "" {
					t.Errorf("line %d (-want +got)\n%s", want.Line, diff)
				}
			}
			socks, warnings := NetstatSockets(rows)
			if diff := cmp.Diff(tt.warnings, warnings); diff != "" {
				t.Errorf("warnings (-want +got)\n%s", diff)
			}
			listening := 0
			for _, s := range socks {
				if s.State == inspect.StateListening {
					listening++
				}
			}
			if listening != tt.listening {
				t.Errorf("%d listeners, want %d", listening, tt.listening)
			}
			if tt.warnings == nil {
				checkLinks(t, rows, socks)
			}
		})
	}
}

// checkLinks requires what FORMATS.md §3.3 found in every full capture:
// connected stream and seqpacket sockets point at each other, and each
// datagram receiver's Refs list, through Nextref, holds exactly the
// sockets whose peer it is.
func checkLinks(t *testing.T, rows []NetstatRow, socks []inspect.Socket) {
	t.Helper()
	byID := map[inspect.SocketID]inspect.Socket{}
	senders := map[inspect.SocketID]int{}
	for _, s := range socks {
		byID[s.ID] = s
		if s.Type == inspect.TypeDgram && s.Peer != 0 {
			senders[s.Peer]++
		}
	}
	row := map[uint64]NetstatRow{}
	for _, r := range rows {
		row[r.Address] = r
	}
	pairs := 0
	for _, s := range socks {
		if s.Type == inspect.TypeDgram || s.Peer == 0 {
			continue
		}
		pairs++
		if p, ok := byID[s.Peer]; !ok || p.Peer != s.ID || p.State != inspect.StateConnected || s.State != inspect.StateConnected {
			t.Errorf("socket %#x: peer %#x does not point back: %+v", s.ID, s.Peer, p)
		}
	}
	if pairs == 0 {
		t.Error("no connected pairs to check")
	}
	for _, r := range rows {
		if r.Type != inspect.TypeDgram || r.Refs == 0 {
			continue
		}
		n := 0
		for a := r.Refs; a != 0; a = row[a].Nextref {
			if _, ok := row[a]; !ok || byID[inspect.SocketID(a)].Peer != inspect.SocketID(r.Address) || n > len(rows) {
				t.Errorf("receiver %#x: reference list breaks at %#x", r.Address, a)
				break
			}
			n++
		}
		if n != senders[inspect.SocketID(r.Address)] {
			t.Errorf("receiver %#x: %d sockets in its reference list, %d sockets send to it", r.Address, n, senders[inspect.SocketID(r.Address)])
		}
	}
}

const netstatTitle = "Active LOCAL (UNIX) domain sockets\n"

// The -v layouts below are built from network_cmds' format strings as
// FORMATS.md §3.4 gives them; no verbatim capture exists.
const (
	header644 = "Address          Type   Recv-Q Send-Q            Inode             Conn             Refs          Nextref rhiwat shiwat    pid   epid Addr"
	header696 = "Address          Type   Recv-Q Send-Q            Inode             Conn             Refs          Nextref    rxbytes    txbytes  rhiwat  shiwat    pid   epid state  options           gencnt    flags   flags1 usecnt rtncnt fltrs Addr"
	header726 = "Address          Type   Recv-Q Send-Q            Inode             Conn             Refs          Nextref      rxbytes      txbytes  rhiwat  shiwat          process:pid    state  options           gencnt    flags   flags1 usecnt rtncnt fltrs Addr"
)

func baseRow(r NetstatRow) string {
	return fmt.Sprintf("%16x %-6.6s %6d %6d %16x %16x %16x %16x", r.Address, map[inspect.Type]string{1: "stream", 2: "dgram"}[r.Type], r.RecvQ, r.SendQ, r.Vnode, r.Conn, r.Refs, r.Nextref)
}

func TestParseNetstatVerbose(t *testing.T) {
	listener := NetstatRow{Address: 0x7fb03cb95130cbb5, Type: inspect.TypeStream, Vnode: 0x7fb03cb937de855d, Path: "/Library/Application Support/x sys"}
	// Nextref is 16 digits wide, so 644's rhiwat sticks to it.
	sender := NetstatRow{Address: 0x7fb03cb93501cc85, Type: inspect.TypeDgram, Conn: 0x7fb03cb93501c195, Nextref: 0x7fb03cb93501cbbd}
	client := NetstatRow{Address: 0x0fb03cb94a63cedd, Type: inspect.TypeStream, RecvQ: 1234567, Conn: 0x7fb03cb94a63a7cd}
	path := func(r NetstatRow) string {
		if r.Path == "" {
			return ""
		}
		return " " + r.Path
	}
	v644 := func(r NetstatRow) string {
		return baseRow(r) + fmt.Sprintf("%6d %6d %6d %6d ", 131072, 8192, 501, 501) + path(r)
	}
	v696 := func(r NetstatRow, state, options uint32) string {
		return baseRow(r) + fmt.Sprintf(" %10d %10d %7d %7d %6d %6d %05x %08x %16x %08x %08x %6d %6d %5d", 4096, 81, 8192, 8192, 88, 88, state, options, 0x1a2b, 0x40, 0, 1, 0, 0) + path(r)
	}
	v726 := func(r NetstatRow, proc string, state, options uint32) string {
		return baseRow(r) + fmt.Sprintf(" %12d %12d %7d %7d %16s:%-6d %05x %08x %16x %08x %08x %6d %6d %5d", 4096, 81, 8192, 8192, proc, 3300, state, options, 0x1a2b, 0x40, 0, 1, 0, 0) + path(r)
	}
	so := func(r NetstatRow, state, options uint32) NetstatRow {
		r.SoState, r.SoOptions, r.HasSo = state, options, true
		return r
	}
	for _, tt := range []struct {
		name  string
		lines []string
		want  []NetstatRow
		state []inspect.State
	}{
		{
			name:  "644",
			lines: []string{header644, v644(listener), v644(sender), v644(client)},
			want:  []NetstatRow{listener, sender, client},
			// Without so_options a bound stream socket is taken for a listener.
			state: []inspect.State{inspect.StateListening, inspect.StateConnected, inspect.StateConnected},
		},
		{
			name:  "696",
			lines: []string{header696, v696(listener, 0x00100, 0x0002), v696(sender, 0x00102, 0), v696(client, 0x00002, 0), v696(NetstatRow{Address: 1, Type: inspect.TypeStream, Vnode: 2, Path: "bound-only"}, 0, 0)},
			want: []NetstatRow{
				so(listener, 0x00100, 0x0002), so(sender, 0x00102, 0), so(client, 0x00002, 0),
				so(NetstatRow{Address: 1, Type: inspect.TypeStream, Vnode: 2, Path: "bound-only"}, 0, 0),
			},
			// so_options tells a bound socket that never listened.
			state: []inspect.State{inspect.StateListening, inspect.StateConnected, inspect.StateConnected, inspect.StateUnconnected},
		},
		{
			name:  "726",
			lines: []string{header726, v726(listener, "Comet Helper", 0x00100, 0x0002), v726(sender, "Codex (Service)", 0x00102, 0), v726(client, "a:b", 0x00008, 0)},
			want:  []NetstatRow{so(listener, 0x00100, 0x0002), so(sender, 0x00102, 0), so(client, 0x00008, 0)},
			state: []inspect.State{inspect.StateListening, inspect.StateConnected, inspect.StateDisconnecting},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := netstatTitle + strings.Join(tt.lines, "\n") + "\n"
			got, err := ParseNetstat(strings.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				tt.want[i].Line = i + 3
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			for i := range got {
				if s := rowState(&got[i]); s != tt.state[i] {
					t.Errorf("row %d: state %v, want %v", i, s, tt.state[i])
				}
			}
		})
	}
}

func TestParseNetstatNotes(t *testing.T) {
	in := "Active Internet connections\n" +
		"Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)\n" +
		"tcp4       0      0  127.0.0.1.631          *.*                    LISTEN\n" +
		netstatTitle + header644[:len(header644)-len(" rhiwat shiwat    pid   epid Addr")] + " Addr\n" +
		"7fb03cb94a63a7cd stream      0      0                0 7fb03cb94a63cedd                0                0\n" +
		"Some stream sockets may have been created or deleted.\n" +
		"unexpected kind 242 which 0xf2\n" +
		"7fb03cb94a63cedd stream      0      0                0 7fb03cb94a63a7cd                0                0  two  blanks \n" +
		"\n" +
		"Registered kernel control modules\n" +
		"       1        9        0   131072   131072 com.apple.flow-divert \n" +
		"Active kernel event sockets\n" +
		"             pcb Proto Recv-Q Send-Q vendor  class subcla\n" +
		"7fb03cb936ead2bd kevt       0      0      1      1      0\n"
	got, err := ParseNetstat(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []NetstatRow{
		{Address: 0x7fb03cb94a63a7cd, Type: inspect.TypeStream, Conn: 0x7fb03cb94a63cedd, Line: 6},
		// The path is everything after the one blank that follows Nextref.
		{Address: 0x7fb03cb94a63cedd, Type: inspect.TypeStream, Conn: 0x7fb03cb94a63a7cd, Path: " two  blanks ", Line: 9},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestParseNetstatEmpty(t *testing.T) {
	// netstat prints no section when there is no unix socket.
	got, err := ParseNetstat(strings.NewReader(""))
	if err != nil || len(got) != 0 {
		t.Errorf("ParseNetstat(\"\") = %v, %v; want no rows", got, err)
	}
}

// TestParseNetstatNotNetstat feeds text that is no macOS or FreeBSD
// netstat output with a unix section: each must be refused, never read as
// a capture without sockets.
func TestParseNetstatNotNetstat(t *testing.T) {
	const notNetstat = `not macOS or FreeBSD netstat output: no unix section`
	for _, tt := range []struct{ name, in, want string }{
		{"inet only", "Active Internet connections\nProto Recv-Q Send-Q  Local Address          Foreign Address        (state)\n", notNetstat},
		{"passwd", "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n", notNetstat},
		{"no newline", "root:x:0:0:root:/root:/bin/bash", notNetstat},
		{"lsof", string(readCapture(t, "lsof-U-rednafi-macos-m1-2023-excerpt.txt")), notNetstat},
		{"net-tools", "Active UNIX domain sockets (servers and established)\nProto RefCnt Flags       Type       State         I-Node   Path\nunix  2      [ ACC ]     STREAM     LISTENING     20649    /run/x.sock\n", "Linux netstat output (net-tools netstat -x)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := ParseNetstat(strings.NewReader(tt.in))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !errors.Is(err, ErrMalformed) {
				t.Errorf("got %d rows, error %v; want %q wrapping ErrMalformed", len(rows), err, tt.want)
			}
		})
	}
}

func TestParseNetstatErrors(t *testing.T) {
	const hdr = netstatTitle + "Address          Type   Recv-Q Send-Q            Inode             Conn             Refs          Nextref Addr\n"
	for _, tt := range []struct {
		name, in, want string
	}{
		{"header", netstatTitle + "Address Type Recv-Q\n", `line 2: malformed: unknown unix header "Address Type Recv-Q"`},
		{"column", netstatTitle + strings.Replace(header644, "epid", "foo", 1) + "\n", `line 2: malformed: unknown column "foo"`},
		{"no header", netstatTitle, `line 1: malformed: unix section has no header (truncated)`},
		{"no rows", hdr + "Active kernel event sockets\n", `line 1: malformed: unix section has no rows (truncated)`},
		{"no rows at end", hdr, `line 1: malformed: unix section has no rows (truncated)`},
		{"type", hdr + "7fb0 strm 0 0 0 0 0 0\n", `line 3: malformed: unknown type "strm"`},
		{"nextref", hdr + "7fb0 stream 0 0 0 0 0\n", `line 3: malformed: missing Nextref`},
		{"address", hdr + "7fbz stream 0 0 0 0 0 0\n", `line 3: malformed: Address "7fbz" is not hex`},
		{"long address", hdr + "17fb03cb94a63a7cd stream 0 0 0 0 0 0\n", `line 3: malformed: Address "17fb03cb94a63a7cd" is not hex`},
		{"recv-q", hdr + "7fb0 stream x 0 0 0 0 0\n", `line 3: malformed: Recv-Q "x" is not a number`},
		{"conn", hdr + "7fb0 stream 0 0 0 -1 0 0\n", `line 3: malformed: Conn "-1" is not hex`},
		{"cut", hdr + "7fb0 stream 0 0 0 0 0 0 /var/run/sys", `line 3: malformed: capture ends inside a line (truncated)`},
		{"outside", "7fb0 stream 0 0 0 0 0 0\n", `line 1: malformed: unix socket row outside the unix section`},
		{"after", hdr + "7fb0 stream 0 0 0 0 0 0\n\n7fb1 dgram 0 0 0 0 0 0\n", `line 5: malformed: unix socket row outside the unix section`},
		{"v state", netstatTitle + header696 + "\n" + baseRow(NetstatRow{Type: inspect.TypeStream}) + " 0 0 0 0 0 0 zz 00000002 0 0 0 0 0 0\n", `line 3: malformed: state "zz" is not a number`},
		{"v short", netstatTitle + header644 + "\n" + "7fb0 stream 0 0 0 0 0\n", `line 3: malformed: missing Nextref`},
		{"v column", netstatTitle + header644 + "\n" + baseRow(NetstatRow{Type: inspect.TypeStream}) + " 1 2\n", `line 3: malformed: missing pid`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseNetstat(strings.NewReader(tt.in))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !errors.Is(err, ErrMalformed) {
				t.Errorf("got error %v, want %q wrapping ErrMalformed", err, tt.want)
			}
		})
	}
}
