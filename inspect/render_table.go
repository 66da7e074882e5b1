package inspect

import (
	"io"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
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

// NewTable returns a borderless, left-aligned table in the style of ss
// and ps: no wrapping, no reformatting of cells.
func NewTable(w io.Writer, header []string, color bool) *tablewriter.Table {
	if color {
		for i, h := range header {
			header[i] = ansiBold + h + ansiReset
		}
	}
	t := tablewriter.NewTable(&trimWriter{w: w},
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithConfig(tablewriter.Config{
			Header: tw.CellConfig{
				Formatting: tw.CellFormatting{AutoFormat: tw.Off, AutoWrap: tw.WrapNone},
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
				Padding:    tw.CellPadding{Global: tw.Padding{Right: "  ", Overwrite: true}},
			},
			Row: tw.CellConfig{
				Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone},
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
				Padding:    tw.CellPadding{Global: tw.Padding{Right: "  ", Overwrite: true}},
			},
		}),
	)
	t.Header(header)
	return t
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
		if !e.ConnectionsUnknown && (e.Listening() || (e.Type == TypeDgram && e.Named())) {
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
	seen := map[string]bool{}
	for _, h := range hs {
		cmd := "?"
		if h.Known {
			cmd = Escape(h.Command)
			name := nameOr(h.User, h.UID)
			if !seen[name] {
				seen[name] = true
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

// trimWriter drops the padding tablewriter leaves at the end of each line.
type trimWriter struct {
	w      io.Writer
	spaces int
}

func (t *trimWriter) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p)+t.spaces)
	for _, c := range p {
		switch c {
		case ' ':
			t.spaces++
			continue
		case '\n':
			t.spaces = 0
		default:
			for ; t.spaces > 0; t.spaces-- {
				out = append(out, ' ')
			}
		}
		out = append(out, c)
	}
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
