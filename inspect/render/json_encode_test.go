package render

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/udsls/udsls/inspect"
)

// encodingJSON is what WriteJSON must print: the document encoding/json
// makes of the public types.
func encodingJSON(t testing.TB, entries []inspect.Entry, warnings []string) string {
	t.Helper()
	doc := ListingJSON{Sockets: []SocketJSON{}, Warnings: warnings}
	if doc.Warnings == nil {
		doc.Warnings = []string{}
	}
	for i := range entries {
		doc.Sockets = append(doc.Sockets, ToJSON(&entries[i]))
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	// EncodeJSON's escaping of DEL and C1 is the one difference.
	return string(escapeControls([]byte(b.String())))
}

// oddStrings are names that test every escaping rule of encoding/json.
var oddStrings = []string{
	"",
	"/run/plain.sock",
	"with space and\ttab",
	`quote" back\slash /slash`,
	"<script>&amp;</script>",
	"\x00\x01\x07\x08\x0b\x0c\x0e\x1b\x1f\x7f",
	"\b\f\n\r\t",
	"c1 \u0080\u009b[2J\u009f\u00a0",
	"line\u2028para\u2029sep",
	"héllo wörld ✓ 😀 \u00a0",
	"bad\xffutf8",
	"cut \xc3",
	"surrogate \xed\xa0\x80",
	"overlong \xc0\xaf",
	"@abstract\x00with\x00nuls",
}

// jsonTestEntries are entries that between them set every field of the
// JSON types, with every odd string in every string field.
func jsonTestEntries() []inspect.Entry {
	uid := func(known bool) []inspect.Holder {
		return []inspect.Holder{{PID: 1, FD: 3, Command: "a", User: "root", UID: 0, Known: known, Unit: `foo\x2dbar.service`, FDName: "api"}, {PID: 70000, FD: 1 << 20, Command: "b\xff", User: "u\xfe", UID: 4294967295, Known: true}}
	}
	var es []inspect.Entry
	for i, s := range oddStrings {
		es = append(es, inspect.Entry{
			Socket: inspect.Socket{
				ID: inspect.SocketID(i + 1), Path: s, Abstract: i%2 == 0, Type: inspect.Type(i % 7), State: inspect.State(i % 12),
				Known: inspect.KnownPeer | inspect.KnownQueues | inspect.KnownBound | inspect.KnownUID | inspect.KnownNetns,
				Peer:  inspect.SocketID(1 << 40), RecvQueue: uint32(i), SendQueue: 4294967295, UID: uint32(i * 1000), Netns: 4026531840 + uint64(i),
			},
			Holders:         []inspect.Holder{{PID: i + 1, FD: i, Command: s, User: s, UID: uint32(i), Known: i%3 != 0, Unit: "u.service", FDName: s}},
			Container:       &inspect.Container{ID: s, Runtime: s, Name: s, Pod: s, Namespace: s},
			File:            &inspect.FileInfo{Mode: fs.ModeSocket | fs.FileMode(i*0o111) | fs.ModeSetgid, UID: 1, GID: 2, Owner: s, Group: s},
			FileStatus:      inspect.FileOK,
			Remote:          &inspect.Peer{ID: inspect.SocketID(1 << 40), Path: s, Holders: uid(true)},
			Connections:     i,
			Clients:         []inspect.Peer{{ID: 5, Path: s, Holders: uid(false)}, {ID: 6}},
			SocketActivated: i%2 == 1,
			Traffic:         &inspect.Traffic{SentBytes: uint64(i) << 40, ReceivedBytes: 1<<64 - 1 - uint64(i)},
		})
	}
	return append(es,
		inspect.Entry{}, // nothing known
		inspect.Entry{Socket: inspect.Socket{ID: 7, State: inspect.StateListening, Known: inspect.KnownQueues, RecvQueue: 2, SendQueue: 128}, FileStatus: inspect.FileGone},
		inspect.Entry{Socket: inspect.Socket{ID: 8, Path: "/run/x.sock", Type: inspect.TypeStream, State: inspect.StateConnected}, Holders: []inspect.Holder{}, Remote: &inspect.Peer{ID: 9}},
	)
}

func TestWriteJSONMatchesEncodingJSON(t *testing.T) {
	all := jsonTestEntries()
	tests := []struct {
		name     string
		entries  []inspect.Entry
		warnings []string
	}{
		{"nothing", nil, nil},
		{"no sockets, warnings", nil, oddStrings},
		{"one", all[1:2], nil},
		{"all", all, []string{"1 process unreadable (permission denied); run as root for all owners"}},
		{"many", slices.Repeat(all, 200), nil}, // beyond one flush
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := encodingJSON(t, tt.entries, tt.warnings)
			var got bytes.Buffer
			if err := WriteJSON(&got, tt.entries, tt.warnings); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got.String()); diff != "" {
				t.Errorf("WriteJSON differs from encoding/json (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWriteWatchLineMatchesEncodingJSON holds the watch's lines to
// encoding/json's compact form of WatchJSON, where every socket has its
// traffic member: an object, or null when the entry carries none.
func TestWriteWatchLineMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 1, 2, 3, 4, 5678e5, time.FixedZone("X", 3600))
	counted := jsonTestEntries()
	for i := range counted {
		if counted[i].Traffic == nil {
			counted[i].Traffic = &inspect.Traffic{SentBytes: 1}
		}
	}
	tests := []struct {
		name     string
		entries  []inspect.Entry
		warnings []string
	}{
		{"nothing", nil, nil},
		{"all", counted, oddStrings},
		{"many", slices.Repeat(counted, 200), nil}, // beyond one flush
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := WatchJSON{Time: "2026-12-01T01:03:04.567Z", Sockets: []SocketJSON{}, Warnings: tt.warnings}
			if doc.Warnings == nil {
				doc.Warnings = []string{}
			}
			for i := range tt.entries {
				doc.Sockets = append(doc.Sockets, ToJSON(&tt.entries[i]))
			}
			want, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteWatchLine(&got, at, tt.entries, tt.warnings); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(escapeControls(want))+"\n", got.String()); diff != "" {
				t.Errorf("WriteWatchLine differs from encoding/json (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteWatchLineTrafficNull(t *testing.T) {
	var got bytes.Buffer
	es := []inspect.Entry{{Socket: inspect.Socket{ID: 1}}, {Socket: inspect.Socket{ID: 2}, Traffic: &inspect.Traffic{SentBytes: 3, ReceivedBytes: 4}}}
	if err := WriteWatchLine(&got, time.Unix(0, 0), es, nil); err != nil {
		t.Fatal(err)
	}
	if bytes.Count(got.Bytes(), []byte("\n")) != 1 {
		t.Errorf("not one line: %q", got.String())
	}
	var doc struct {
		Sockets []map[string]json.RawMessage
	}
	if err := json.Unmarshal(got.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var traffic []string
	for _, s := range doc.Sockets {
		tr, ok := s["traffic"]
		if !ok {
			t.Errorf("socket without a traffic member: %v", s)
		}
		traffic = append(traffic, string(tr))
	}
	want := []string{"null", `{"sent_bytes":3,"received_bytes":4}`}
	if diff := cmp.Diff(want, traffic); diff != "" {
		t.Errorf("traffic (-want +got):\n%s", diff)
	}
}

// TestJSONTestEntriesSetEveryField keeps the test above complete: a field
// added to the JSON types fails here until jsonTestEntries sets it, and
// then fails there until WriteJSON writes it.
func TestJSONTestEntriesSetEveryField(t *testing.T) {
	fields, set := map[string]bool{}, map[string]bool{}
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem(), path)
			}
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				return
			}
			for i := range v.Len() {
				walk(v.Index(i), path+"[]")
			}
		case reflect.Struct:
			for i := range v.NumField() {
				f := v.Type().Field(i)
				p := path + "." + f.Name
				fields[p] = true
				if !v.Field(i).IsZero() {
					set[p] = true
				}
				walk(v.Field(i), p)
			}
		}
	}
	es := jsonTestEntries()
	for i := range es {
		walk(reflect.ValueOf(ToJSON(&es[i])), "SocketJSON")
	}
	var missing []string
	for f := range fields {
		if !set[f] {
			missing = append(missing, f)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("no entry of jsonTestEntries sets %s", strings.Join(missing, ", "))
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range oddStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		want = escapeControls(want)
		if got := appendJSONString(nil, s); !bytes.Equal(want, got) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

// failWriter fails every write, as a closed pipe does.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, fs.ErrClosed
}

func TestWriteJSONStopsAtWriteError(t *testing.T) {
	w := &failWriter{}
	err := WriteJSON(w, slices.Repeat(jsonTestEntries(), 200), nil)
	if err != fs.ErrClosed || w.n != 1 {
		t.Errorf("WriteJSON to a failing writer: %v after %d writes, want %v after 1", err, w.n, fs.ErrClosed)
	}
}

func TestOctalMode(t *testing.T) {
	tests := []struct {
		mode fs.FileMode
		want string
	}{
		{0, "0000"},
		{0o755, "0755"},
		{fs.ModeSocket | 0o660, "0660"},
		{fs.ModeSetuid | 0o755, "4755"},
		{fs.ModeSetgid | 0o775, "2775"},
		{fs.ModeSticky | fs.ModeDir | 0o777, "1777"},
		{fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky | 0o777, "7777"},
		{fs.ModeSymlink | 0o001, "0001"},
	}
	for _, tt := range tests {
		if got := inspect.OctalMode(tt.mode); got != tt.want {
			t.Errorf("OctalMode(%v) = %q, want %q", tt.mode, got, tt.want)
		}
	}
}
