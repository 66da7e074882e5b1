package inspect

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/clipperhouse/displaywidth"
)

// TableOptions shape the human-readable listing.
type TableOptions struct {
	Color bool
	// Peers adds a PEER column: the far end of connections and, with
	// Clients filled, a listener's clients.
	Peers bool
}

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
)

// Table is a borderless, left-aligned table in the style of ss and ps: cells are
// never wrapped or reformatted, columns are separated by two spaces and lines carry no
// trailing blanks. It replaced tablewriter, whose per-cell layout cost ~40 µs a row and
// made the listing table 5-13x the price of the JSON listing.
type Table struct {
	w      io.Writer
	cols   int
	cells  []string // row-major, the header first
	widths []int
}

// widthOpts measures cells as a terminal shows them: the colour sequences the renderers
// add take no room.
var widthOpts = displaywidth.Options{ControlSequences: true}

// NewTable starts a table with the header; color makes it bold.
func NewTable(w io.Writer, header []string, color bool) *Table {
	t := &Table{w: w, cols: len(header), widths: make([]int, len(header))}
	for _, h := range header {
		if color {
			h = ansiBold + h + ansiReset
		}
		t.add(h)
	}
	return t
}

func (t *Table) add(c string) {
	i := len(t.cells) % t.cols
	if n := cellWidth(c); n > t.widths[i] {
		t.widths[i] = n
	}
	t.cells = append(t.cells, c)
}

// cellWidth is the display width; cells are escaped, so nearly all are ASCII.
func cellWidth(c string) int {
	for i := 0; i < len(c); i++ {
		if c[i] >= utf8.RuneSelf || c[i] < ' ' {
			return widthOpts.String(c)
		}
	}
	return len(c)
}

// Append adds a row of exactly as many cells as the header.
func (t *Table) Append(row []string) error {
	if len(row) != t.cols {
		return fmt.Errorf("table row has %d cells, header %d", len(row), t.cols)
	}
	for _, c := range row {
		t.add(c)
	}
	return nil
}

// Render writes the table in one pass, buffered; a write error ends it.
func (t *Table) Render() error {
	bw := bufio.NewWriterSize(t.w, 64<<10)
	pad := strings.Repeat(" ", slices.Max(append(t.widths, 0))+2)
	for r := 0; r < len(t.cells); r += t.cols {
		row := t.cells[r : r+t.cols]
		last := len(row) - 1
		for last > 0 && row[last] == "" {
			last--
		}
		for i, c := range row[:last+1] {
			bw.WriteString(c)
			if i < last {
				bw.WriteString(pad[:t.widths[i]-cellWidth(c)+2])
			}
		}
		if err := bw.WriteByte('\n'); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteTable prints entries as a table. Every name passes through Escape.
func WriteTable(w io.Writer, entries []Entry, o TableOptions) error {
	queues := false
	for i := range entries {
		queues = queues || entries[i].Known.Has(KnownQueues)
	}
	header := []string{"PATH", "TYPE", "STATE"}
	if queues {
		header = append(header, "RECV-Q", "SEND-Q")
	}
	header = append(header, "CONNS", "PID/COMMAND", "USER", "FD", "MODE", "OWNER")
	netns := manyNetns(entries)
	if netns {
		header = append(header, "NETNS/CONTAINER")
	}
	if o.Peers {
		header = append(header, "PEER")
	}
	t := NewTable(w, header, o.Color)
	for i := range entries {
		e := &entries[i]
		row := []string{displayPath(e.Path), e.Type.String(), stateCell(e, o.Color)}
		if queues {
			if e.Known.Has(KnownQueues) {
				row = append(row, strconv.FormatUint(uint64(e.RecvQueue), 10), strconv.FormatUint(uint64(e.SendQueue), 10))
			} else {
				row = append(row, "-", "-")
			}
		}
		conns := "-"
		if e.Listening() || (e.Type == TypeDgram && e.Named()) {
			conns = strconv.Itoa(e.Connections)
		}
		pids, users, fds := holderCells(e.Holders)
		mode, owner := "-", "-"
		if e.File != nil {
			mode = OctalMode(e.File.Mode)
			owner = nameOr(e.File.Owner, e.File.UID) + ":" + nameOr(e.File.Group, e.File.GID)
		}
		row = append(row, conns, pids, users, fds, mode, owner)
		if netns {
			row = append(row, netnsCell(e))
		}
		if o.Peers {
			row = append(row, peerCell(e))
		}
		if err := t.Append(row); err != nil {
			return err
		}
	}
	return t.Render()
}

// manyNetns reports whether the entries come from more than one network
// namespace, the only time their namespace tells rows apart.
func manyNetns(entries []Entry) bool {
	first, seen := uint64(0), false
	for i := range entries {
		e := &entries[i]
		switch {
		case !e.Known.Has(KnownNetns):
		case !seen:
			first, seen = e.Netns, true
		case e.Netns != first:
			return true
		}
	}
	return false
}

// netnsCell is the namespace inode, then the holder's container as
// runtime:short-id (the 12 digits docker ps shows).
func netnsCell(e *Entry) string {
	s := "-"
	if e.Known.Has(KnownNetns) {
		s = strconv.FormatUint(e.Netns, 10)
	}
	if c := e.Container; c != nil {
		id := c.ID
		if len(id) > 12 {
			id = id[:12]
		}
		s += "/" + Escape(c.Runtime) + ":" + Escape(id)
	}
	return s
}

func displayPath(p string) string {
	if p == "" {
		return "(unnamed)"
	}
	return Escape(p)
}

func stateCell(e *Entry, color bool) string {
	s := e.State.String()
	var marks []string
	switch e.FileStatus {
	case FileGone:
		marks = append(marks, "file gone")
	case FileReplaced:
		marks = append(marks, "file replaced")
	}
	if e.Full() {
		marks = append(marks, "backlog full")
	}
	if len(marks) > 0 {
		s += " (" + strings.Join(marks, ", ") + ")"
		if color {
			s = ansiRed + s + ansiReset
		}
	} else if color && e.Listening() {
		s = ansiGreen + s + ansiReset
	}
	return s
}

// holderCells joins holders compactly: every pid/command, the distinct
// users, and the fds in holder order.
func holderCells(hs []Holder) (pids, users, fds string) {
	if len(hs) == 0 {
		return "-", "-", "-"
	}
	var p, u, f []string
	for _, h := range hs {
		cmd := "?"
		if h.Known {
			cmd = Escape(h.Command)
			if name := nameOr(h.User, h.UID); !slices.Contains(u, name) {
				u = append(u, name)
			}
		}
		p = append(p, strconv.Itoa(h.PID)+"/"+cmd)
		f = append(f, strconv.Itoa(h.FD))
	}
	if len(u) == 0 {
		u = []string{"?"}
	}
	return strings.Join(p, ","), strings.Join(u, ","), strings.Join(f, ",")
}

func peerCell(e *Entry) string {
	var ps []Peer
	if e.Remote != nil {
		ps = append(ps, *e.Remote)
	}
	ps = append(ps, e.Clients...)
	if len(ps) == 0 {
		return "-"
	}
	var out []string
	for _, p := range ps {
		if len(p.Holders) == 0 {
			out = append(out, "inode "+strconv.FormatUint(uint64(p.ID), 10))
			continue
		}
		for _, h := range p.Holders {
			cmd := "?"
			if h.Known {
				cmd = Escape(h.Command)
			}
			out = append(out, strconv.Itoa(h.PID)+"/"+cmd)
		}
	}
	return strings.Join(out, ",")
}

func nameOr(name string, id uint32) string {
	if name != "" {
		return Escape(name)
	}
	return strconv.FormatUint(uint64(id), 10)
}
