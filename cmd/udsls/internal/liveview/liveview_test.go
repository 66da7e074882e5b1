package liveview

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/udsls/udsls/inspect"
)

// fakeSource hands out frames of literal entries, as the watch's refresher
// does with snapshots.
type fakeSource struct {
	w     inspect.Watcher
	t     time.Time
	calls int
	all   []bool
	// next returns the entries of the next refresh.
	next func(all bool) []inspect.Entry
}

func (s *fakeSource) refresh(_ context.Context, all bool) (*inspect.Frame, error) {
	s.calls++
	s.all = append(s.all, all)
	s.t = s.t.Add(time.Second)
	es := s.next(all)
	snap := &inspect.Snapshot{}
	for _, e := range es {
		snap.Sockets = append(snap.Sockets, e.Socket)
	}
	return s.w.Next(s.t, snap, es), nil
}

func listener(id inspect.SocketID, path string, pending, backlog uint32, conns int) inspect.Entry {
	return inspect.Entry{
		Socket:      inspect.Socket{ID: id, Path: path, Type: inspect.TypeStream, State: inspect.StateListening, Known: inspect.KnownQueues, RecvQueue: pending, SendQueue: backlog},
		Holders:     []inspect.Holder{{PID: int(id), FD: 3, Command: "srv" + fmt.Sprint(id), User: "root", Known: true}},
		Connections: conns,
	}
}

// harness drives a model as Bubble Tea would, without a terminal: it
// feeds messages to Update, runs the commands that refresh, and reads the
// screen from View.
type harness struct {
	t   testing.TB
	m   *Model
	src *fakeSource
}

func newHarness(t testing.TB, color bool, next func(all bool) []inspect.Entry) *harness {
	src := &fakeSource{t: time.Date(2026, 12, 1, 2, 3, 4, 0, time.UTC), next: next}
	cfg := Config{Refresh: src.refresh, Interval: time.Second, Color: color, Cannot: []string{"traffic (traffic counting not built)"}}
	h := &harness{t: t, m: New(context.Background(), cfg), src: src}
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.tick() // the first refresh, which Init starts
	return h
}

// send delivers msg and runs what it asks, except timers, which it drops:
// the test is the clock.
func (h *harness) send(msg tea.Msg) tea.Msg {
	_, cmd := h.m.Update(msg)
	return h.run(cmd)
}

func (h *harness) run(cmd tea.Cmd) tea.Msg {
	if cmd == nil {
		return nil
	}
	// A refresh the harness can run at once; a tea.Tick would sleep.
	switch msg := h.peek(cmd).(type) {
	case frameMsg:
		return h.send(msg)
	default:
		return msg
	}
}

// peek runs cmd unless it is a timer; the model's timers are the only
// commands that do not answer at once.
func (h *harness) peek(cmd tea.Cmd) tea.Msg {
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	select {
	case msg := <-done:
		return msg
	case <-time.After(50 * time.Millisecond):
		return nil // a timer: left to run out in the background
	}
}

// tick is the refresh timer going off.
func (h *harness) tick() { h.send(tickMsg{gen: h.m.gen}) }

func (h *harness) key(s string) tea.Msg {
	k := tea.KeyPressMsg{Text: s}
	switch s {
	case "up":
		k = tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		k = tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgdown":
		k = tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "pgup":
		k = tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "enter":
		k = tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		k = tea.KeyPressMsg{Code: tea.KeyEsc}
	case "ctrl+c":
		k = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	default:
		k.Code = []rune(s)[0]
	}
	return h.send(k)
}

// screen is the frame as a terminal shows it, without styles, checked to
// fit the terminal.
func (h *harness) screen() []string {
	h.t.Helper()
	v := h.m.View()
	if !v.AltScreen {
		h.t.Errorf("view not on the alternate screen")
	}
	var lines []string
	if v.Content != "" {
		lines = strings.Split(ansi.Strip(v.Content), "\n")
	}
	if len(lines) > h.m.height {
		h.t.Errorf("%d lines on a terminal of %d", len(lines), h.m.height)
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w > h.m.width {
			h.t.Errorf("line of %d columns on a terminal of %d: %q", w, h.m.width, l)
		}
	}
	return lines
}

// rowPaths are the first words of the rows, after the mark.
func (h *harness) rowPaths() []string {
	var out []string
	for _, l := range h.screen()[3:] {
		if len(l) < 2 || l[0] != ' ' && l[0] != '*' && l[0] != '+' && l[0] != '-' {
			continue
		}
		if f := strings.Fields(l[1:]); len(f) > 0 && (strings.HasPrefix(f[0], "/") || strings.HasPrefix(f[0], "@")) {
			out = append(out, l[:1]+f[0])
		}
	}
	return out
}

func TestViewPressureOrderAndMarks(t *testing.T) {
	step := 0
	h := newHarness(t, false, func(bool) []inspect.Entry {
		es := []inspect.Entry{
			listener(1, "/run/a.sock", 0, 128, 1),
			listener(2, "/run/b.sock", 100, 128, 0), // 78% full
			listener(3, "/run/c.sock", 129, 128, 0), // full
			listener(4, "/run/d.sock", 0, 128, 9),
		}
		if step > 0 {
			es[0].Connections = 2                                // changed
			es = slices.Delete(es, 3, 4)                         // d vanishes
			es = append(es, listener(5, "/run/e.sock", 0, 5, 0)) // e appears
		}
		step++
		return es
	})
	lines := h.screen()
	for _, want := range []string{"sockets 4  listeners 4", "full 1", "cannot see: traffic (traffic counting not built)"} {
		if !strings.Contains(strings.Join(lines[:2], "\n"), want) {
			t.Errorf("header lacks %q:\n%s", want, strings.Join(lines[:2], "\n"))
		}
	}
	if !strings.HasPrefix(lines[2], "  PATH") || !strings.Contains(lines[2], "SENT/s") || !strings.Contains(lines[2], "BACKLOG") {
		t.Errorf("column names: %q", lines[2])
	}
	want := []string{" /run/c.sock", " /run/b.sock", " /run/d.sock", " /run/a.sock"}
	if diff := slices.Compare(want, h.rowPaths()); diff != 0 {
		t.Errorf("first frame by pressure: %q, want %q", h.rowPaths(), want)
	}
	h.tick()
	want = []string{" /run/c.sock", " /run/b.sock", "*/run/a.sock", "+/run/e.sock", "-/run/d.sock"}
	if got := h.rowPaths(); !slices.Equal(got, want) {
		t.Errorf("second frame: %q, want %q", got, want)
	}
	if !strings.Contains(strings.Join(h.screen(), "\n"), "FULL") {
		t.Errorf("no FULL state for the full listener")
	}
	h.tick()
	if got := h.rowPaths(); slices.ContainsFunc(got, func(s string) bool { return s[0] != ' ' }) {
		t.Errorf("marks outlive one refresh: %q", got)
	}
}

func TestViewKeys(t *testing.T) {
	h := newHarness(t, false, func(all bool) []inspect.Entry {
		var es []inspect.Entry
		for i := range 60 {
			es = append(es, listener(inspect.SocketID(i+1), fmt.Sprintf("/run/s%02d.sock", i), 0, 128, i%7))
		}
		if all {
			es = append(es, inspect.Entry{Socket: inspect.Socket{ID: 999, Type: inspect.TypeStream, State: inspect.StateConnected}})
		}
		return es
	})
	first := func() string { return h.rowPaths()[0] }
	if first() != " /run/s06.sock" { // 6 connections, the most; ties by path
		t.Errorf("first row %q", first())
	}
	// s: the next order, recv-q (all 0, so by path), then traffic, conns, path.
	h.key("s")
	if first() != " /run/s00.sock" || !strings.Contains(h.screen()[23], "sort recv-q") {
		t.Errorf("after s: first %q, status %q", first(), h.screen()[23])
	}
	h.key("S")
	// Scrolling: a page down and back, one row down.
	h.key("pgdown")
	if first() == " /run/s06.sock" {
		t.Errorf("pgdown did not scroll")
	}
	h.key("pgup")
	h.key("down")
	if first() == " /run/s06.sock" {
		t.Errorf("down did not scroll")
	}
	h.key("up")
	if first() != " /run/s06.sock" {
		t.Errorf("up: first %q", first())
	}
	h.key("G")
	if !strings.Contains(h.screen()[23], "of 60") || !strings.Contains(h.screen()[23], "rows 41-60") {
		t.Errorf("end: status %q", h.screen()[23])
	}
	h.key("g")
	// /: a filter, typed and kept.
	h.key("/")
	for _, k := range "s59" {
		h.key(string(k))
	}
	if !strings.Contains(h.screen()[23], "filter: s59") {
		t.Errorf("typing a filter: status %q", h.screen()[23])
	}
	h.key("enter")
	if got := h.rowPaths(); !slices.Equal(got, []string{" /run/s59.sock"}) {
		t.Errorf("filter s59: rows %q", got)
	}
	h.key("esc")
	if len(h.rowPaths()) != 20 {
		t.Errorf("esc did not clear the filter: %d rows", len(h.rowPaths()))
	}
	// a: every socket, refreshed at once; and back.
	calls := h.src.calls
	h.key("a")
	if h.src.calls != calls+1 || !h.src.all[len(h.src.all)-1] {
		t.Errorf("a did not refresh with every socket: %v", h.src.all)
	}
	if !strings.Contains(h.screen()[23], "of 61") || !strings.Contains(h.screen()[23], "all") {
		t.Errorf("a: the unnamed socket not counted: %q", h.screen()[23])
	}
	h.key("a")
	// p: the timer no longer refreshes; p again refreshes at once.
	h.key("p")
	calls = h.src.calls
	h.tick()
	if h.src.calls != calls || !strings.Contains(h.screen()[0], "[paused]") {
		t.Errorf("paused, yet refreshed (%d calls, was %d), header %q", h.src.calls, calls, h.screen()[0])
	}
	h.key("p")
	if h.src.calls != calls+1 {
		t.Errorf("resume did not refresh")
	}
	// ?: help, and back.
	h.key("?")
	if !strings.Contains(strings.Join(h.screen(), "\n"), "Keys") {
		t.Errorf("? shows no help:\n%s", strings.Join(h.screen(), "\n"))
	}
	h.key("?")
	if len(h.rowPaths()) == 0 {
		t.Errorf("? again did not go back to the rows")
	}
	// q and ctrl+c quit.
	for _, k := range []string{"q", "ctrl+c"} {
		if msg := h.key(k); msg != (tea.QuitMsg{}) {
			t.Errorf("%s: %T, want tea.QuitMsg", k, msg)
		}
	}
}

// TestViewEscapes: names reach the screen escaped as in the table; a
// hostile name cannot move the cursor or end a line.
func TestViewEscapes(t *testing.T) {
	h := newHarness(t, true, func(bool) []inspect.Entry {
		e := listener(1, "/run/evil\n\x1b[2J\x1b]0;pwned\x07\u009b.sock", 0, 1, 0)
		e.Holders[0].Command = "cmd\x1b[31m"
		e.Holders[0].User = "u\r"
		abs := listener(2, "@abs\x00tract", 0, 1, 0)
		abs.Abstract = true
		return []inspect.Entry{e, abs}
	})
	raw := h.m.View().Content
	for _, bad := range []string{"\x1b[2J", "\x1b]0", "\u009b", "\x07", "\r"} {
		if strings.Contains(raw, bad) {
			t.Errorf("screen holds %q", bad)
		}
	}
	all := strings.Join(h.screen(), "\n")
	for _, want := range []string{`/run/evil\n\`, `cmd\x1b[31m`, `@abs\x00tract`} {
		if !strings.Contains(all, want) {
			t.Errorf("screen lacks the escaped %q:\n%s", want, all)
		}
	}
}

// sgrColor is a colour in a Select Graphic Rendition sequence.
var sgrColor = regexp.MustCompile(`\x1b\[[0-9;]*(3[0-7]|38;|9[0-7])[0-9;]*m`)

// TestViewColorAndResize: without colour (NO_COLOR) changes show by mark
// and bold only; every size, 80x24 down to a small one, fits.
func TestViewColorAndResize(t *testing.T) {
	for _, color := range []bool{false, true} {
		n := 0
		h := newHarness(t, color, func(bool) []inspect.Entry {
			n++
			return []inspect.Entry{listener(1, "/run/x.sock", uint32(n), 128, n), listener(2, "/run/"+strings.Repeat("long/", 30)+"y.sock", 0, 4096, 0)}
		})
		h.tick()
		if got := sgrColor.MatchString(h.m.View().Content); got != color {
			t.Errorf("color %v: colour sequences on screen: %v", color, got)
		}
		for _, size := range [][2]int{{80, 24}, {120, 40}, {200, 50}, {60, 15}, {40, 10}, {20, 5}, {1, 1}, {0, 0}} {
			h.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			lines := h.screen() // checks the fit
			if size[0] >= 60 && !strings.Contains(strings.Join(lines, "\n"), "/run/x.sock") {
				t.Errorf("%dx%d: x.sock not shown:\n%s", size[0], size[1], strings.Join(lines, "\n"))
			}
		}
	}
}

func TestRateCell(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 0.4: "0", 1: "1", 999: "999", 1000: "1.0K", 1536: "1.5K", 10240: "10K", 999 * 1024: "999K", 5 << 20: "5.0M", 3 << 30: "3.0G", 1 << 50: "1024T"} {
		if got := rateCell(v); got != want {
			t.Errorf("rateCell(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestViewTraffic: SENT/s and RECV/s are the bytes counted since the
// refresh before over its time (a second here), "-" until there is one;
// the traffic order puts the busiest first.
func TestViewTraffic(t *testing.T) {
	n := uint64(0)
	h := newHarness(t, false, func(bool) []inspect.Entry {
		quiet, busy := listener(1, "/run/quiet.sock", 0, 9, 0), listener(2, "/run/busy.sock", 0, 9, 0)
		quiet.Traffic = &inspect.Traffic{SentBytes: n, ReceivedBytes: n}
		busy.Traffic = &inspect.Traffic{SentBytes: 2048 * n, ReceivedBytes: 100 * n}
		n++
		return []inspect.Entry{quiet, busy}
	})
	row := func(path string) []string {
		for _, l := range h.screen() {
			if f := strings.Fields(l); len(f) > 0 && f[0] == path || len(f) > 1 && f[1] == path {
				return f
			}
		}
		t.Fatalf("no row %s:\n%s", path, strings.Join(h.screen(), "\n"))
		return nil
	}
	if f := row("/run/busy.sock"); !slices.Equal(f[len(f)-3:len(f)-1], []string{"-", "-"}) {
		t.Errorf("first refresh: %q, want - -", f)
	}
	h.tick()
	if f := row("/run/busy.sock"); !slices.Equal(f[len(f)-3:len(f)-1], []string{"2.0K", "100"}) {
		t.Errorf("busy: %q, want 2.0K 100", f)
	}
	h.key("s")
	h.key("s") // traffic
	if got := h.rowPaths(); len(got) != 2 || got[0] != "*/run/busy.sock" {
		t.Errorf("by traffic: %q", got)
	}
	if msg := h.send(endMsg{}); msg != (tea.QuitMsg{}) {
		t.Errorf("the end of --for: %T, want tea.QuitMsg", msg)
	}
}

// TestViewFilterPaste: text pasted into the filter (bracketed paste, which
// a terminal sends apart from keys) filters, without its control
// characters or bytes that are not UTF-8; outside the filter it is no key.
func TestViewFilterPaste(t *testing.T) {
	h := newHarness(t, false, func(bool) []inspect.Entry {
		return []inspect.Entry{listener(1, "/run/alpha.sock", 0, 128, 0), listener(2, "/run/beta.sock", 0, 128, 0)}
	})
	h.send(tea.PasteMsg{Content: "beta"})
	if got := h.rowPaths(); len(got) != 2 {
		t.Errorf("a paste outside the filter changed the rows: %q", got)
	}
	h.key("/")
	h.send(tea.PasteMsg{Content: "\x1b[31mbe\xff\nta\x7f"})
	if h.m.filter != "[31mbeta" {
		t.Errorf("filter %q after a hostile paste", h.m.filter)
	}
	h.key("esc")
	h.key("/")
	h.send(tea.PasteMsg{Content: "beta"})
	h.key("enter")
	if got := h.rowPaths(); !slices.Equal(got, []string{" /run/beta.sock"}) {
		t.Errorf("rows after pasting beta into the filter: %q", got)
	}
}

// TestViewCannotEscaped: what the run cannot see quotes errors, which may
// quote paths: they reach the header escaped.
func TestViewCannotEscaped(t *testing.T) {
	h := newHarness(t, false, func(bool) []inspect.Entry { return []inspect.Entry{listener(1, "/run/a.sock", 0, 1, 0)} })
	h.m.cfg.Cannot = []string{"traffic (open /sys/x\x1b[2J\n: denied)"}
	if raw := h.m.View().Content; strings.Contains(raw, "\x1b[2J") {
		t.Errorf("screen holds the escape sequence of an error")
	}
	if s := h.screen(); !strings.Contains(s[1], `/sys/x\x1b[2J\n: denied`) {
		t.Errorf("header line %q, want the error escaped", s[1])
	}
}
