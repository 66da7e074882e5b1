package linux

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/udsls/udsls/inspect"
)

const (
	stream    = inspect.TypeStream
	dgram     = inspect.TypeDgram
	seqpacket = inspect.TypeSeqpacket

	unconnected = inspect.StateUnconnected
	connecting  = inspect.StateConnecting
	connected   = inspect.StateConnected
	listening   = inspect.StateListening
)

func unnamed(id inspect.SocketID, typ inspect.Type, st inspect.State) inspect.Socket {
	return inspect.Socket{ID: id, Type: typ, State: st}
}

func named(id inspect.SocketID, typ inspect.Type, st inspect.State, path string) inspect.Socket {
	return inspect.Socket{ID: id, Type: typ, State: st, Path: path}
}

func abstract(id inspect.SocketID, typ inspect.Type, st inspect.State, path string) inspect.Socket {
	return inspect.Socket{ID: id, Type: typ, State: st, Path: path, Abstract: true}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "linux", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseProcNetUnixCaptures(t *testing.T) {
	tests := []struct {
		file string
		want []inspect.Socket
	}{
		{
			file: "proc_net_unix.txt",
			want: []inspect.Socket{
				named(20414, stream, listening, "/srv/app/api.sock"),
				named(20419, dgram, connected, "/srv/app/log.sock"),
				named(20431, stream, listening, "/srv/app/my socket.sock"),
				named(20432, dgram, unconnected, " lead space.sock"),
				named(20435, stream, listening, "/srv/app/new\nline\x1b[31m.sock"),
				named(20436, dgram, unconnected, "/srv/app/trail\n"),
				unnamed(20428, seqpacket, connected),
				unnamed(20425, stream, connected),
				named(0, stream, connecting, "/srv/app/api.sock"),
				named(0, stream, connecting, "/srv/app/api.sock"),
				unnamed(20426, dgram, connected),
				unnamed(20429, seqpacket, connected),
				unnamed(20417, stream, connected),
				abstract(20423, seqpacket, connected, "@udsls-fixture/seq"),
				unnamed(20422, seqpacket, connected),
				unnamed(20427, dgram, connected),
				named(20416, stream, connected, "/srv/app/api.sock"),
				unnamed(20415, stream, connected),
				unnamed(20430, stream, unconnected),
				unnamed(20424, stream, connected),
				unnamed(20420, dgram, connected),
				abstract(20421, seqpacket, listening, "@udsls-fixture/seq"),
				abstract(20433, dgram, unconnected, "@6b7d5"),
				abstract(20434, dgram, unconnected, "@emb@edded"),
			},
		},
		{file: "proc_net_unix_empty.txt", want: []inspect.Socket{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseProcNetUnix(bytes.NewReader(readFixture(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseProcNetUnix mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

const netUnixHeader = procNetUnixHeader + "\n"

// Lines as the kernel writes them, to build inputs from.
const (
	lineUnnamed  = "0000000000000000: 00000003 00000000 00000000 0001 03 20425"
	lineListener = "00000000b871ee5a: 00000002 00000000 00010000 0001 01 20414 /run/a.sock"
)

func TestParseProcNetUnix(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []inspect.Socket
	}{
		{
			name:  "no final newline",
			input: netUnixHeader + lineUnnamed,
			want:  []inspect.Socket{unnamed(20425, stream, connected)},
		},
		{
			name:  "wide inode and path of spaces",
			input: netUnixHeader + "ffff: 00000002 00000000 00000000 0002 01 4294967296    \n",
			want:  []inspect.Socket{named(4294967296, dgram, unconnected, "   ")},
		},
		{
			name: "32-bit kernel address and lower-case hex",
			input: netUnixHeader + "c1a2b3c4: 0000000a 00000000 00010000 0005 01 12345 @x\n" +
				"c1a2b3c5: 00000002 00000000 00000000 0002 04     7\n",
			want: []inspect.Socket{
				abstract(12345, seqpacket, listening, "@x"),
				unnamed(7, dgram, inspect.StateDisconnecting),
			},
		},
		{
			name:  "unknown type is kept",
			input: netUnixHeader + "0000000000000000: 00000002 00000000 00000000 000A 01 77777\n",
			want:  []inspect.Socket{unnamed(77777, inspect.Type(10), unconnected)},
		},
		{
			// Kernels before 2.6.27 wrote the abstract name's NUL as is.
			name:  "raw NUL of an old kernel",
			input: netUnixHeader + "0000000000000000: 00000002 00000000 00000000 0002 01 12345 \x00old\x00name\n",
			want:  []inspect.Socket{abstract(12345, dgram, unconnected, "@old\x00name")},
		},
		{
			name: "name continues over lines",
			input: netUnixHeader + lineListener + "\n" +
				"still the name\n" +
				lineUnnamed + "\n",
			want: []inspect.Socket{
				named(20414, stream, listening, "/run/a.sock\nstill the name"),
				unnamed(20425, stream, connected),
			},
		},
		{
			// Only the bad line shows the record before it was part of
			// the name.
			name: "name holding a record",
			input: netUnixHeader + lineListener + "\n" +
				lineUnnamed + "\n" +
				"tail\n" +
				lineUnnamed + "\n",
			want: []inspect.Socket{
				named(20414, stream, listening, "/run/a.sock\n"+lineUnnamed+"\ntail"),
				unnamed(20425, stream, connected),
			},
		},
		{
			name:  "name ending in newlines",
			input: netUnixHeader + lineListener + "\n\n\n",
			want:  []inspect.Socket{named(20414, stream, listening, "/run/a.sock\n\n")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProcNetUnix(strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseProcNetUnix(%q) mismatch (-want +got):\n%s", tt.input, diff)
			}
		})
	}
}

func TestParseProcNetUnixErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"empty", "", `/proc/net/unix line 1: header: missing`},
		{
			"unknown header",
			"Num RefCount Protocol Flags Type St Inode Path\n" + lineUnnamed,
			`/proc/net/unix line 1: header "Num RefCount Protocol Flags Type St Inode Path": unknown, want "Num       RefCount Protocol Flags    Type St Inode Path"`,
		},
		{
			"truncated line",
			netUnixHeader + lineUnnamed + "\n0000000000000000: 00000002 0000",
			`/proc/net/unix line 3: protocol "0000": want 8 hex digits`,
		},
		{
			"missing inode",
			netUnixHeader + "0000000000000000: 00000002 00000000 00000000 0001 01\n",
			`/proc/net/unix line 2: inode: missing`,
		},
		{"only an address", netUnixHeader + "0000000000000000:", `/proc/net/unix line 2: refcount: missing`},
		{
			"bad hex",
			netUnixHeader + "0000000000000000: 0000000G 00000000 00000000 0001 01 20425\n",
			`/proc/net/unix line 2: refcount "0000000G": want 8 hex digits`,
		},
		{
			"long hex",
			netUnixHeader + "0000000000000000: 00000002 00000000 00000000 00001 01 20425\n",
			`/proc/net/unix line 2: type "00001": want 4 hex digits`,
		},
		{
			"two spaces",
			netUnixHeader + "0000000000000000: 00000002  00000000 00000000 0001 01 20425\n",
			`/proc/net/unix line 2: protocol: want 8 hex digits`,
		},
		{
			"bad address",
			netUnixHeader + "0000000x00000000: 00000002 00000000 00000000 0001 01 20425\n",
			`/proc/net/unix line 2: num "0000000x00000000:": want a hex address and a colon`,
		},
		{
			"address too wide",
			netUnixHeader + "00000000000000000: 00000002 00000000 00000000 0001 01 20425\n",
			`/proc/net/unix line 2: num "00000000000000000:": want a hex address and a colon`,
		},
		{"blank line", netUnixHeader + "\n", `/proc/net/unix line 2: num: want a hex address and a colon`},
		{
			"bad inode",
			netUnixHeader + "0000000000000000: 00000002 00000000 00000000 0001 01   12a\n",
			`/proc/net/unix line 2: inode "12a": want a decimal number`,
		},
		{
			"inode not aligned",
			netUnixHeader + "0000000000000000: 00000002 00000000 00000000 0001 01 12\n",
			`/proc/net/unix line 2: inode "12": want it right-aligned in 5 places`,
		},
		{
			"inode too large",
			netUnixHeader + "0000000000000000: 00000002 00000000 00000000 0001 01 18446744073709551616\n",
			`/proc/net/unix line 2: inode "18446744073709551616": out of range`,
		},
		{
			"unknown state",
			netUnixHeader + "0000000000000000: 00000002 00000000 00000000 0001 05 20425\n",
			`/proc/net/unix line 2: st "05": unknown socket state`,
		},
		{
			"type too large",
			netUnixHeader + "0000000000000000: 00000002 00000000 00000000 0101 01 20425\n",
			`/proc/net/unix line 2: type "0101": out of range`,
		},
		{
			"space without a name",
			netUnixHeader + "0000000000000000: 00000002 00000000 00000000 0001 01 20425 \n",
			`/proc/net/unix line 2: path " ": want one space and a name`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProcNetUnix(strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("ParseProcNetUnix(%q) = %v, want error %q", tt.input, got, tt.want)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("ParseProcNetUnix(%q) error mismatch (-want +got):\n%s", tt.input, diff)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseProcNetUnix(%q) error %q does not wrap ErrMalformed", tt.input, err)
			}
		})
	}
}

// formatProcNetUnix writes sockets the way unix_seq_show does.
func formatProcNetUnix(socks []inspect.Socket) []byte {
	var b bytes.Buffer
	b.WriteString(netUnixHeader)
	for i, s := range socks {
		flags, st := 0, int(s.State)
		if s.State == inspect.StateListening {
			flags, st = soAcceptCon, 1
		}
		fmt.Fprintf(&b, "%016x: 00000002 00000000 %08X %04X %02X %5d", i, flags, uint8(s.Type), st, uint64(s.ID))
		if s.Path != "" {
			b.WriteString(" " + s.Path)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func FuzzParseProcNetUnix(f *testing.F) {
	f.Add(readFixture(f, "proc_net_unix.txt"))
	f.Add(readFixture(f, "proc_net_unix_empty.txt"))
	f.Add([]byte(netUnixHeader + lineListener + "\n" + lineUnnamed + "\nx\n"))
	f.Add([]byte(netUnixHeader + "0000000000000000: 00000002 00000000 00000000 0002 01 12345 \x00a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		socks, err := ParseProcNetUnix(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %q does not wrap ErrMalformed", err)
			}
			if !strings.HasPrefix(err.Error(), "/proc/net/unix line ") {
				t.Fatalf("error %q does not name the line", err)
			}
			return
		}
		input := string(data)
		for _, s := range socks {
			switch s.State {
			case unconnected, connecting, connected, inspect.StateDisconnecting, listening:
			default:
				t.Fatalf("socket %+v: state %v", s, s.State)
			}
			if s.Known != 0 {
				t.Fatalf("socket %+v: procfs knows none of the optional fields", s)
			}
			if s.Abstract != strings.HasPrefix(s.Path, "@") {
				t.Fatalf("socket %+v: Abstract disagrees with the path", s)
			}
			if s.Path != "" && s.Path[0] == 0 {
				t.Fatalf("socket %+v: abstract name kept its NUL", s)
			}
			if s.Path != "" && !strings.Contains(input, s.Path[1:]) {
				t.Fatalf("socket %+v: path is not in the input", s)
			}
		}
		// What was read, written back the kernel's way, reads the same.
		again, err := ParseProcNetUnix(bytes.NewReader(formatProcNetUnix(socks)))
		if err != nil {
			t.Fatalf("reading back %v: %v", socks, err)
		}
		// reflect first: cmp.Diff is slow enough to stall the fuzzer.
		if !reflect.DeepEqual(socks, again) {
			t.Fatalf("round trip mismatch (-first +second):\n%s", cmp.Diff(socks, again))
		}
	})
}

// generatedProcNetUnix is n lines in the proportions of a busy desktop:
// mostly unnamed connected pairs, some named and abstract sockets.
func generatedProcNetUnix(n int) []byte {
	var b bytes.Buffer
	b.WriteString(netUnixHeader)
	for i := range n {
		fmt.Fprintf(&b, "%016x: 00000003 00000000 00000000 0001 03 %5d", 0xffff888100000000+uint64(i)*0x400, 100000+i)
		switch i % 10 {
		case 0:
			fmt.Fprintf(&b, " /run/user/1000/app-%d/bus", i)
		case 1:
			fmt.Fprintf(&b, " @/tmp/.X11-unix/X%d", i)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func BenchmarkParseProcNetUnix(b *testing.B) {
	data := generatedProcNetUnix(100_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseProcNetUnix(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
