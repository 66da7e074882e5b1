package render

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"runtime"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/internal/text"
)

func TestWriteJSON(t *testing.T) {
	snap := testSnapshot()
	snap.Sockets = append(snap.Sockets, inspect.Socket{ID: 60, Path: "/tmp/bad\xffname\n.sock", Type: inspect.TypeDgram, State: inspect.StateUnconnected})
	r := fakeResolver(testProcs(), testFiles())
	es := r.Entries(context.Background(), snap, inspect.Query{View: inspect.ViewAll})
	var buf bytes.Buffer
	if err := WriteJSON(&buf, es, nil); err != nil {
		t.Fatal(err)
	}
	var doc ListingJSON
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("output does not decode into ListingJSON: %v", err)
	}
	if doc.Warnings == nil || len(doc.Sockets) != len(es) {
		t.Fatalf("warnings %v, %d sockets; want [] and %d", doc.Warnings, len(doc.Sockets), len(es))
	}
	by := map[inspect.SocketID]SocketJSON{}
	for _, s := range doc.Sockets {
		by[s.Inode] = s
	}
	u32 := func(v uint32) *uint32 { return &v }
	st := func(v inspect.FileStatus) *inspect.FileStatus { return &v }
	zero := uint32(0)
	want := SocketJSON{
		Path: "/run/app.sock", Type: inspect.TypeStream, State: inspect.StateListening, Inode: 10, ID: "0xa",
		Processes: []ProcessJSON{
			{PID: 100, Command: "appd", User: "root", UID: &zero, FD: 3},
			{PID: 101, Command: "appd", User: "root", UID: &zero, FD: 3},
		},
		File:        &FileJSON{Mode: "0660", UID: 0, GID: 100, Owner: "root", Group: "users"},
		FileStatus:  st(inspect.FileOK),
		Connections: func() *int { n := 1; return &n }(),
		Pending:     u32(0), Backlog: u32(128),
	}
	if diff := cmp.Diff(want, by[10]); diff != "" {
		t.Errorf("listener (-want +got):\n%s", diff)
	}
	if got := by[12]; got.PeerInode != 11 || got.Peer == nil || got.Peer.Path != "/run/app.sock" || *got.RecvQueue != 7 || got.Pending != nil {
		t.Errorf("client = %+v", got)
	}
	bad := by[60]
	if string(bad.PathBytes) != "/tmp/bad\xffname\n.sock" || bad.RecvQueue != nil || bad.FileStatus == nil || *bad.FileStatus != inspect.FileGone {
		t.Errorf("invalid UTF-8 path: %+v", bad)
	}
}

func TestWriteTableEscapes(t *testing.T) {
	hostile := []string{
		"/tmp/new\nline.sock", "/tmp/\x1b[2J\x1b[31mred.sock", "/tmp/\x1b]0;title\x07.sock",
		"/tmp/\u202ekcos.exe", "/tmp/zw\u200bj.sock", "/tmp/\xff\xfe.sock", "@abs\x00nul",
	}
	snap := &inspect.Snapshot{}
	for i, p := range hostile {
		snap.Sockets = append(snap.Sockets, inspect.Socket{ID: inspect.SocketID(i + 1), Path: p, Abstract: p[0] == '@', Type: inspect.TypeStream, State: inspect.StateListening})
	}
	snap.Owners = []inspect.Owner{{ID: 1, PID: 9, FD: 3}}
	procs := map[int]inspect.Process{9: {PID: 9, Command: "evil\x1b[0m\ncmd", UID: 0}}
	var buf bytes.Buffer
	r := fakeResolver(procs, nil)
	if err := WriteTable(&buf, r.Entries(context.Background(), snap, inspect.Query{}), TableOptions{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(hostile)+1 {
		t.Errorf("%d lines for %d sockets plus a header:\n%s", len(lines), len(hostile), out)
	}
	for _, l := range lines {
		if strings.HasSuffix(l, " ") {
			t.Errorf("line ends in padding: %q", l)
		}
	}
	for _, c := range out {
		if (c < 0x20 && c != '\n') || c == 0x7f || text.Hidden(c) || c == 0xfffd {
			t.Errorf("table holds %U:\n%q", c, out)
		}
	}
	for _, want := range []string{`/tmp/new\nline.sock`, `/tmp/\x1b[2J\x1b[31mred.sock`, `\u202e`, `\u200b`, `\xff\xfe`, `@abs\x00nul`, `9/evil\x1b[0m\ncmd`} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %s:\n%s", want, out)
		}
	}
}

// TestTableFit narrows a table to widths from generous to impossible: no line is wider than
// asked while the steps allow, and shortened cells keep their head and tail.
func TestTableFit(t *testing.T) {
	long := "/run/" + strings.Repeat("very-long-name/", 6) + "app.sock"
	for _, width := range []int{200, 100, 80, 60} {
		var buf bytes.Buffer
		tb := NewTable(&buf, []string{"PATH", "TYPE", "STATE", "OWNER", "PID/COMMAND"}, false)
		tb.Fit = Fit{Width: width, Steps: []FitStep{{Drop: "OWNER"}, {Shrink: map[string]int{"PATH": 20}}, {Drop: "TYPE"}}}
		tb.Append([]string{long, "stream", "listening", "root:root", "1/日本語のコマンド"})
		tb.Append([]string{"/x", "dgram", "unconnected", "-", "-"})
		if err := tb.Render(); err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
			if n := cellWidth(l); n > width {
				t.Errorf("width %d: line of %d columns: %q", width, n, l)
			}
			if p := strings.Fields(l)[0]; strings.Contains(p, "…") && (!strings.HasPrefix(long, strings.Split(p, "…")[0]) || !strings.HasSuffix(long, strings.Split(p, "…")[1])) {
				t.Errorf("width %d: %q is not the head and tail of %q", width, p, long)
			}
		}
		if width >= 100 != strings.Contains(buf.String(), "OWNER") && width != 100 {
			t.Errorf("width %d: OWNER dropped too early or too late:\n%s", width, buf.String())
		}
	}
}

// TestTableUnknownVersusNone: a procfs listing cannot know queues or peers ("?"), while a
// socket with no peer has none ("-"); a listener's accept queue is its own column.
func TestTableUnknownVersusNone(t *testing.T) {
	snap := &inspect.Snapshot{Sockets: []inspect.Socket{
		{ID: 1, Path: "@a", Abstract: true, Type: inspect.TypeStream, State: inspect.StateListening, Known: inspect.KnownQueues | inspect.KnownPeer, RecvQueue: 3, SendQueue: 128},
		{ID: 2, Path: "@b", Abstract: true, Type: inspect.TypeDgram, State: inspect.StateUnconnected, Known: inspect.KnownQueues | inspect.KnownPeer, RecvQueue: 5},
		{ID: 3, Path: "@c", Abstract: true, Type: inspect.TypeDgram, State: inspect.StateUnconnected},
	}}
	var buf bytes.Buffer
	es := fakeResolver(nil, nil).Entries(context.Background(), snap, inspect.Query{View: inspect.ViewAll})
	if err := WriteTable(&buf, es, TableOptions{Peers: true, Extended: true}); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		f := strings.Fields(l)
		got[f[0]] = f
	}
	// PATH TYPE STATE RECV-Q SEND-Q BACKLOG CONNS PID/COMMAND USER FD MODE OWNER INODE PEER-INODE PEER
	want := map[string][]string{
		"@a": {"@a", "stream", "listening", "-", "-", "3/128", "0", "-", "-", "-", "-", "-", "1", "-", "-"},
		"@b": {"@b", "dgram", "unconnected", "5", "0", "-", "0", "-", "-", "-", "-", "-", "2", "-", "-"},
		"@c": {"@c", "dgram", "unconnected", "?", "?", "-", "?", "-", "-", "-", "-", "-", "3", "?", "?"},
	}
	if diff := cmp.Diff(want, map[string][]string{"@a": got["@a"], "@b": got["@b"], "@c": got["@c"]}); diff != "" {
		t.Errorf("rows (-want +got):\n%s\n%s", diff, buf.String())
	}
}

// TestWriteTableUnknownConnections: where the source cannot count a
// listener's or datagram socket's connections, CONNS says "?", not 0.
func TestWriteTableUnknownConnections(t *testing.T) {
	es := []inspect.Entry{
		{Socket: inspect.Socket{ID: 1, Path: "/run/known.sock", Type: inspect.TypeStream, State: inspect.StateListening}, Connections: 2},
		{Socket: inspect.Socket{ID: 2, Path: "/run/guess.sock", Type: inspect.TypeStream, State: inspect.StateListening}, ConnectionsUnknown: true},
		{Socket: inspect.Socket{ID: 3, Path: "/run/dgram.sock", Type: inspect.TypeDgram, State: inspect.StateUnconnected}, ConnectionsUnknown: true},
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, es, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	conns := strings.Index(lines[0], "CONNS")
	if conns < 0 || len(lines) != 4 {
		t.Fatalf("table:\n%s", buf.String())
	}
	for i, want := range []string{"2", "?", "?"} {
		if got := strings.Fields(lines[i+1][conns:])[0]; got != want {
			t.Errorf("row %d: CONNS %q, want %q\n%s", i+1, got, want, buf.String())
		}
	}
}

// TestShortenGraphemes: a shortened cell is cut between graphemes and measured as
// cellWidth measures it. Cut between runes, a combining mark landed on the … and an
// emoji with a skin tone counted as two, so the row came out narrower than its column.
func TestShortenGraphemes(t *testing.T) {
	for _, c := range []string{
		"/tmp/" + strings.Repeat("e\u0301\u0301x", 12) + ".sock",
		"/tmp/" + strings.Repeat("😀👍🏽", 8) + ".sock",
		"/tmp/" + strings.Repeat("中文", 10) + ".sock",
	} {
		for w := 3; w < cellWidth(c); w++ {
			got := shorten(c, w)
			head, tail, _ := strings.Cut(got, "…")
			if !strings.HasPrefix(c, head) || !strings.HasSuffix(c, tail) {
				t.Fatalf("shorten(%q, %d) = %q: not a head and a tail", c, w, got)
			}
			if r, _ := utf8.DecodeRuneInString(tail); unicode.Is(unicode.Mn, r) {
				t.Errorf("shorten(%q, %d) = %q: the tail starts with a combining mark", c, w, got)
			}
			// Wide graphemes may leave a column unused on each side of the …,
			// never one too many; more unused means the cut measured too much.
			if n := cellWidth(got); n > w || n < w-2 {
				t.Errorf("shorten(%q, %d) = %q, %d columns", c, w, got, n)
			}
		}
	}
}

// TestTableFitDeterministic: when two shrinkable columns are as wide, the same one gives
// way on every run; the map of the step once decided, at random.
func TestTableFitDeterministic(t *testing.T) {
	var first string
	for range 64 {
		var buf bytes.Buffer
		tb := NewTable(&buf, []string{"PATH", "STATE", "PID/COMMAND"}, false)
		tb.Fit = Fit{Width: 50, Steps: []FitStep{{Shrink: map[string]int{"PATH": 10, "PID/COMMAND": 10}}}}
		tb.Append([]string{"/run/" + strings.Repeat("a", 20), "listening", "1/" + strings.Repeat("c", 23)})
		if err := tb.Render(); err != nil {
			t.Fatal(err)
		}
		if first == "" {
			first = buf.String()
		} else if buf.String() != first {
			t.Fatalf("two renderings differ:\n%s\n%s", first, buf.String())
		}
	}
}

// TestWriteTableService: SERVICE appears only when a holder has a unit or
// an fd name, names each unit once with its fd name, leaves systemd out of
// a socket-activated socket and says so, escapes what the terminal must
// not see raw, and gives way to the terminal's width without going.
func TestWriteTableService(t *testing.T) {
	listen := func(id inspect.SocketID, p string) inspect.Socket {
		return inspect.Socket{ID: id, Type: inspect.TypeStream, State: inspect.StateListening, Path: p}
	}
	plain := []inspect.Entry{{Socket: listen(1, "/run/plain.sock"), Holders: []inspect.Holder{{PID: 9, FD: 3, Command: "x", Known: true}}}}
	var buf bytes.Buffer
	if err := WriteTable(&buf, plain, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "SERVICE") {
		t.Errorf("SERVICE column without any unit:\n%s", buf.String())
	}

	entries := []inspect.Entry{
		{Socket: listen(1, "/run/api.sock"), SocketActivated: true, Holders: []inspect.Holder{
			{PID: 1, FD: 40, Command: "systemd", Known: true, Unit: "init.scope"},
			{PID: 500, FD: 3, Command: "app", Known: true, Unit: `my\x2dapp.service`, FDName: "api"},
		}},
		{Socket: listen(2, "/run/nginx.sock"), Holders: []inspect.Holder{
			{PID: 600, FD: 6, Command: "nginx", Known: true, Unit: "nginx.service", FDName: "web"},
			{PID: 601, FD: 6, Command: "nginx", Known: true, Unit: "nginx.service"},
			{PID: 602, FD: 7, Command: "helper", Known: true, Unit: "helper.service"},
		}},
		{Socket: listen(3, "/run/sa.sock"), Holders: []inspect.Holder{{PID: 700, FD: 3, Command: "py", Known: true, FDName: "a\x1b[2Jb"}}},
		plain[0],
		{Socket: listen(5, "/run/waiting.sock"), Holders: []inspect.Holder{{PID: 1, FD: 41, Command: "systemd", Known: true, Unit: "init.scope"}}},
	}
	want := map[string]string{
		"/run/api.sock":     `my\\x2dapp.service:api (activated)`,
		"/run/nginx.sock":   "nginx.service:web,helper.service",
		"/run/sa.sock":      `-:a\x1b[2Jb`,
		"/run/plain.sock":   "-",
		"/run/waiting.sock": "init.scope",
	}
	buf.Reset()
	if err := WriteTable(&buf, entries, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	col := strings.Index(lines[0], "SERVICE")
	user := strings.Index(lines[0], "USER")
	if col < 0 || user < col {
		t.Fatalf("no SERVICE column before USER:\n%s", buf.String())
	}
	for _, l := range lines[1:] {
		p := strings.Fields(l)[0]
		if got := strings.TrimSpace(l[col:user]); got != want[p] {
			t.Errorf("%s: SERVICE %q, want %q", p, got, want[p])
		}
	}
	if strings.Contains(buf.String(), "\x1b") {
		t.Errorf("raw ESC in the table:\n%q", buf.String())
	}
	for _, width := range []int{80, 70, 60} {
		buf.Reset()
		if err := WriteTable(&buf, entries, TableOptions{Width: width}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), "SERVICE") != (width >= 70) {
			t.Errorf("width %d: SERVICE dropped too early or too late:\n%s", width, buf.String())
		}
		for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
			if n := cellWidth(l); n > width {
				t.Errorf("width %d: line of %d columns: %q", width, n, l)
			}
		}
	}
}

// TestTableWriterReusesEntry: the listing table takes its entries from
// inspect.Resolver.EachEntry, which reuses their memory once Write returns;
// the rows keep what they showed, and a SERVICE or NETNS/CONTAINER column
// that only the last row needs is there for all.
func TestTableWriterReusesEntry(t *testing.T) {
	var buf bytes.Buffer
	tw := NewTableWriter(&buf, TableOptions{Extended: true})
	var e inspect.Entry
	hs := make([]inspect.Holder, 1)
	for i, h := range []inspect.Holder{
		{PID: 9, FD: 3, Command: "first", Known: true},
		{PID: 10, FD: 4, Command: "second", Known: true, Unit: "second.service"},
	} {
		hs[0] = h
		e = inspect.Entry{
			Socket:  inspect.Socket{ID: inspect.SocketID(i + 1), Path: "/run/" + h.Command + ".sock", Type: inspect.TypeStream, State: inspect.StateListening, Known: inspect.KnownNetns, Netns: uint64(4026531840 + i)},
			Holders: hs,
		}
		tw.Write(&e)
	}
	e = inspect.Entry{}
	hs[0] = inspect.Holder{}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	want := `PATH              TYPE    STATE      RECV-Q  SEND-Q  BACKLOG  CONNS  PID/COMMAND  SERVICE         USER  FD  MODE  OWNER  NETNS/CONTAINER  INODE  PEER-INODE
/run/first.sock   stream  listening  -       -       ?        0      9/first      -               0     3   -     -      4026531840       1      ?
/run/second.sock  stream  listening  -       -       ?        0      10/second    second.service  0     4   -     -      4026531841       2      ?
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

// TestTableRowMemory: a large listing's table keeps its rows as the bytes
// of their cells in large blocks, not as a string a cell, which cost the
// table listing of 50k sockets more memory than the sockets, processes and
// files behind it, nor as a string a row.
func TestTableRowMemory(t *testing.T) {
	snap, procs, files := benchSnapshot(3333)
	es := fakeResolver(procs, files).Entries(context.Background(), snap, inspect.Query{View: inspect.ViewAll})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tw := NewTableWriter(io.Discard, TableOptions{})
	for i := range es {
		tw.Write(&es[i])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perRow := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / int64(len(es))
	runtime.KeepAlive(tw)
	runtime.KeepAlive(es)
	// A row here is about 60 bytes of text in 14 cells, many the same as
	// the cell above: 224 bytes of string headers alone, a string a cell,
	// 63 bytes in all, a string a row.
	if perRow > 60 {
		t.Errorf("table keeps %d bytes a row, want at most 60", perRow)
	}
}
