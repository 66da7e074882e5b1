package render

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/clipperhouse/displaywidth"
	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/internal/text"
)

// TableOptions shape the human-readable listing.
type TableOptions struct {
	Color bool
	// Peers adds a PEER column: the far end of connections and, with
	// Clients filled, a listener's clients.
	Peers bool
	// Extended adds INODE and PEER-INODE, so that the two ends of a connection can be paired.
	Extended bool
	// Width, when set, narrows the table to a terminal that wide (see ListingFit).
	Width int
	// Addresses shows socket IDs as the kernel addresses they are (0x…,
	// as lsof and netstat print them) instead of as inodes.
	Addresses bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

// Table is a borderless, left-aligned table in the style of ss and ps: cells are
// never wrapped or reformatted, columns are separated by two spaces and lines carry no
// trailing blanks. It replaced tablewriter, whose per-cell layout cost ~40 µs a row and
// made the listing table 5-13x the price of the JSON listing.
type Table struct {
	w     io.Writer
	cols  int
	names []string
	// The rows, the header first, are kept as the bytes of their cells,
	// each cell after its length plus one as a uvarint, or a 0 alone for
	// the cell above it, one row after another in blocks of about
	// rowBlockSize bytes: a string a cell cost 16 bytes and often an
	// allocation each, most of a large listing's memory, a string a row
	// still 16 bytes and an allocation, and in a listing sorted by path
	// most cells repeat the row above (type, state, user, owner, a
	// listener's path on its accepted connections).
	blocks []rowBlock
	cur    []byte   // the block being filled, reused once it is kept
	ends   []uint32 // where its rows end
	enc    []byte   // the row being encoded
	above  []string // the cells of the last row added
	header []string // the first row's cells
	widths []int
	hidden []bool // columns left out whatever the width (see hide)
	// Fit, when its Width is set, keeps lines within that many display columns.
	Fit Fit
}

// Fit says how a table narrows to a terminal: its steps are taken in order until the
// lines fit, each dropping a column or shortening columns in the middle (with …) down to
// a minimum width. A table that still does not fit is printed as narrowed as it got.
type Fit struct {
	Width int
	Steps []FitStep
}

// FitStep drops the column named Drop, or shortens each column named in Shrink to no
// less than the width given.
type FitStep struct {
	Drop   string
	Shrink map[string]int
}

// widthOpts measures cells as a terminal shows them: the colour sequences the renderers
// add take no room.
var widthOpts = displaywidth.Options{ControlSequences: true}

// NewTable starts a table with the header; color makes it bold.
func NewTable(w io.Writer, header []string, color bool) *Table {
	t := &Table{w: w, cols: len(header), names: slices.Clone(header), widths: make([]int, len(header)), hidden: make([]bool, len(header))}
	row := slices.Clone(header)
	if color {
		for i, h := range row {
			row[i] = ansiBold + h + ansiReset
		}
	}
	t.add(row)
	return t
}

// rowBlock is a block of rows: row i is data[ends[i-1]:ends[i]].
type rowBlock struct {
	data string
	ends []uint32
}

const rowBlockSize = 64 << 10

func (t *Table) add(row []string) {
	if t.header == nil {
		t.header = slices.Clone(row)
	}
	b := t.enc[:0]
	for i, c := range row {
		if i < len(t.above) && c == t.above[i] {
			b = append(b, 0)
			continue
		}
		if n := cellWidth(c); n > t.widths[i] {
			t.widths[i] = n
		}
		b = binary.AppendUvarint(b, uint64(len(c))+1)
		b = append(b, c...)
	}
	t.enc = b
	if len(t.cur)+len(b) > rowBlockSize && len(t.cur) > 0 {
		t.keepBlock()
	}
	t.cur = append(t.cur, b...)
	t.ends = append(t.ends, uint32(len(t.cur)))
	t.above = append(t.above[:0], row...)
}

// keepBlock moves the rows of the block being filled into one string.
func (t *Table) keepBlock() {
	if len(t.ends) > 0 {
		t.blocks = append(t.blocks, rowBlock{string(t.cur), t.ends})
	}
	t.cur, t.ends = t.cur[:0], make([]uint32, 0, cap(t.ends))
}

// rows yields every row, the header first.
func (t *Table) rows(yield func(string) bool) {
	t.keepBlock()
	for _, blk := range t.blocks {
		start := uint32(0)
		for _, end := range blk.ends {
			if !yield(blk.data[start:end]) {
				return
			}
			start = end
		}
	}
}

// cells appends the cells of row r to dst; above are the cells of the row
// before it.
func cells(dst []string, r string, above []string) []string {
	for len(r) > 0 {
		n, k := uint64(0), 0
		for shift := 0; ; shift += 7 {
			c := r[k]
			k++
			n |= uint64(c&0x7f) << shift
			if c < 0x80 {
				break
			}
		}
		if n == 0 {
			dst = append(dst, above[len(dst)])
			r = r[k:]
			continue
		}
		n--
		dst = append(dst, r[k:k+int(n)])
		r = r[k+int(n):]
	}
	return dst
}

// hide leaves out the column named name, as if it were not in the header.
func (t *Table) hide(name string) {
	if i := slices.Index(t.names, name); i >= 0 {
		t.hidden[i] = true
	}
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
	t.add(row)
	return nil
}

// Render writes the table in one pass, buffered; a write error ends it.
func (t *Table) Render() error {
	widths, keep := t.fit()
	bw := bufio.NewWriterSize(t.w, 64<<10)
	pad := strings.Repeat(" ", slices.Max(append(slices.Clone(widths), 0))+2)
	all, above := make([]string, 0, t.cols), make([]string, 0, t.cols)
	row := make([]string, 0, t.cols)
	ws := make([]int, 0, t.cols)
	for r := range t.rows {
		all, above = cells(above[:0], r, all), all
		row, ws = row[:0], ws[:0]
		for i, c := range all {
			if keep[i] {
				if cellWidth(c) > widths[i] {
					c = shorten(c, widths[i])
				}
				row = append(row, c)
				ws = append(ws, widths[i])
			}
		}
		last := len(row) - 1
		for last > 0 && row[last] == "" {
			last--
		}
		for i, c := range row[:last+1] {
			bw.WriteString(c)
			if i < last {
				bw.WriteString(pad[:ws[i]-cellWidth(c)+2])
			}
		}
		if err := bw.WriteByte('\n'); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// fit applies t.Fit's steps until the table is no wider than t.Fit.Width, and returns the
// columns' widths and which columns stay.
func (t *Table) fit() (widths []int, keep []bool) {
	widths = slices.Clone(t.widths)
	keep = make([]bool, t.cols)
	for i := range keep {
		keep[i] = !t.hidden[i]
	}
	header := t.header
	total := func() int {
		n := 0
		for i, w := range widths {
			if keep[i] {
				n += w + 2
			}
		}
		return n - 2
	}
	for _, st := range t.Fit.Steps {
		if t.Fit.Width <= 0 || total() <= t.Fit.Width {
			break
		}
		if i := slices.Index(t.names, st.Drop); i >= 0 {
			keep[i] = false
			continue
		}
		// Shorten the widest shrinkable column by one until the table fits or each is at
		// its minimum: long paths give way first.
		for total() > t.Fit.Width {
			best := -1
			// In column order, not the map's: of two columns as wide, the
			// same one gives way on every run.
			for i, name := range t.names {
				min, ok := st.Shrink[name]
				if ok && keep[i] && widths[i] > max(min, cellWidth(header[i])) && (best < 0 || widths[i] > widths[best]) {
					best = i
				}
			}
			if best < 0 {
				break
			}
			widths[best]--
		}
	}
	return widths, keep
}

// shorten cuts the middle out of a cell to fit w display columns, marking the cut with …;
// the head and the tail of a path are what tell paths apart.
func shorten(c string, w int) string {
	if w < 3 {
		return widthOpts.TruncateString(c, w, "")
	}
	// Cut between graphemes, measured as cellWidth measures them: a cut
	// between runes would leave a combining mark on the … and count an
	// emoji with a skin tone twice.
	type grapheme struct {
		s string
		w int
	}
	var gs []grapheme
	for g := widthOpts.StringGraphemes(c); g.Next(); {
		gs = append(gs, grapheme{g.Value(), g.Width()})
	}
	headW := (w - 1) / 2
	tailW := w - 1 - headW
	var b strings.Builder
	n := 0
	for ; n < len(gs) && gs[n].w <= headW; n++ {
		headW -= gs[n].w
		b.WriteString(gs[n].s)
	}
	t := len(gs)
	for t > n && gs[t-1].w <= tailW {
		t--
		tailW -= gs[t].w
	}
	b.WriteString("…")
	for _, g := range gs[t:] {
		b.WriteString(g.s)
	}
	return b.String()
}

// ListingFit is how the listing narrows to a terminal: file facts go first, then long
// names are shortened in the middle, then the byte queues, counts and types go, then names
// are shortened further; INODE and PEER-INODE, asked for with -e, go next, and SERVICE
// last.
var ListingFit = []FitStep{
	{Drop: "OWNER"}, {Drop: "MODE"}, {Drop: "FD"}, {Drop: "USER"}, {Drop: "NETNS/CONTAINER"},
	{Shrink: map[string]int{"PATH": 32, "PID/COMMAND": 16, "PEER": 16}},
	{Drop: "SEND-Q"}, {Drop: "RECV-Q"}, {Drop: "CONNS"}, {Drop: "TYPE"},
	{Shrink: map[string]int{"PATH": 16, "PID/COMMAND": 10, "PEER": 10, "SERVICE": 12}},
	{Drop: "PEER-INODE"}, {Drop: "INODE"}, {Drop: "SERVICE"},
}

// WriteTable prints entries as a table. Every name passes through Escape. A cell is "-"
// where there is nothing (no holder, not a listener) and "?" where the source cannot know.
func WriteTable(w io.Writer, entries []inspect.Entry, o TableOptions) error {
	tw := NewTableWriter(w, o)
	for i := range entries {
		tw.Write(&entries[i])
	}
	return tw.Close()
}

// TableWriter prints a listing as WriteTable does, taking the entries one at a time as
// inspect.Resolver.EachEntry makes them: a column is as wide as its widest cell, so
// nothing is printed before Close, but only the rows' cells are kept, not the entries.
type TableWriter struct {
	t   *Table
	o   TableOptions
	row []string
	// services and netns say whether the SERVICE and NETNS/CONTAINER columns, made for
	// every row, are shown: only when a row has a service, and when the rows come from
	// more than one network namespace.
	services, netns bool
	firstNetns      uint64
	seenNetns       bool
	memo            struct {
		mode                fs.FileMode
		uid, gid            uint32
		user, group         string
		modeCell, ownerCell string
		netns               uint64
		netnsCell           string
	}
}

// NewTableWriter starts a listing table on w.
func NewTableWriter(w io.Writer, o TableOptions) *TableWriter {
	header := []string{"PATH", "TYPE", "STATE", "RECV-Q", "SEND-Q", "BACKLOG", "CONNS", "PID/COMMAND", "SERVICE", "USER", "FD", "MODE", "OWNER", "NETNS/CONTAINER"}
	if o.Extended {
		header = append(header, "INODE", "PEER-INODE")
	}
	if o.Peers {
		header = append(header, "PEER")
	}
	t := NewTable(w, header, o.Color)
	t.Fit = Fit{Width: o.Width, Steps: ListingFit}
	return &TableWriter{t: t, o: o, row: make([]string, 0, len(header))}
}

// Write adds e's row; e may change once Write returns.
func (tw *TableWriter) Write(e *inspect.Entry) {
	o := &tw.o
	if !tw.services && hasService(e) {
		tw.services = true
	}
	if e.Known.Has(inspect.KnownNetns) {
		switch {
		case !tw.seenNetns:
			tw.firstNetns, tw.seenNetns = e.Netns, true
		case e.Netns != tw.firstNetns:
			tw.netns = true
		}
	}
	row := append(tw.row[:0], displayPath(e), e.Type.String(), stateCell(e, o.Color))
	recvq, sendq, backlog := queueCells(e)
	row = append(row, recvq, sendq, backlog)
	conns := "-"
	switch {
	case !e.Listening() && (e.Type != inspect.TypeDgram || !e.Named()):
	case e.ConnectionsUnknown:
		conns = "?"
	default:
		conns = strconv.Itoa(e.Connections)
	}
	pids, users, fds := holderCells(e.Holders)
	mode, owner := "-", "-"
	if f := e.File; f != nil {
		// The cells of the file and the namespace repeat from row to row:
		// made once, not once a row.
		if m := &tw.memo; f.Mode != m.mode || f.UID != m.uid || f.GID != m.gid || f.Owner != m.user || f.Group != m.group || m.modeCell == "" {
			m.mode, m.uid, m.gid, m.user, m.group = f.Mode, f.UID, f.GID, f.Owner, f.Group
			m.modeCell = inspect.OctalMode(f.Mode)
			m.ownerCell = text.NameOr(f.Owner, f.UID) + ":" + text.NameOr(f.Group, f.GID)
		}
		mode, owner = tw.memo.modeCell, tw.memo.ownerCell
	}
	netns := tw.memo.netnsCell
	if e.Container != nil || !e.Known.Has(inspect.KnownNetns) || e.Netns != tw.memo.netns || netns == "" {
		netns = netnsCell(e)
		if e.Container == nil && e.Known.Has(inspect.KnownNetns) {
			tw.memo.netns, tw.memo.netnsCell = e.Netns, netns
		}
	}
	row = append(row, conns, pids, serviceCell(e), users, fds, mode, owner, netns)
	if o.Extended {
		row = append(row, idCell(e.ID, o.Addresses), peerIDCell(e, o.Addresses))
	}
	if o.Peers {
		row = append(row, peerCell(e, o.Addresses))
	}
	tw.row = row
	tw.t.add(row)
}

// Close prints the table.
func (tw *TableWriter) Close() error {
	if !tw.services {
		tw.t.hide("SERVICE")
	}
	if !tw.netns {
		tw.t.hide("NETNS/CONTAINER")
	}
	return tw.t.Render()
}

// queueCells are RECV-Q and SEND-Q in bytes, and for a listener BACKLOG as
// pending/backlog: the kernel reports a listener's accept queue in the queue fields,
// which ss prints as if they were bytes.
func queueCells(e *inspect.Entry) (recvq, sendq, backlog string) {
	switch {
	case !e.Known.Has(inspect.KnownQueues):
		if e.Listening() {
			return "-", "-", "?"
		}
		return "?", "?", "-"
	case e.Listening():
		return "-", "-", strconv.FormatUint(uint64(e.RecvQueue), 10) + "/" + strconv.FormatUint(uint64(e.SendQueue), 10)
	}
	return strconv.FormatUint(uint64(e.RecvQueue), 10), strconv.FormatUint(uint64(e.SendQueue), 10), "-"
}

// idCell is an inode in decimal, as ss and /proc print it, or a kernel address in hex, as
// lsof and netstat print it.
func idCell(id inspect.SocketID, addresses bool) string {
	switch {
	case id == 0:
		return "?"
	case addresses:
		return id.Hex()
	}
	return strconv.FormatUint(uint64(id), 10)
}

func peerIDCell(e *inspect.Entry, addresses bool) string {
	switch {
	case !e.Known.Has(inspect.KnownPeer):
		return "?"
	case e.Peer == 0:
		return "-"
	}
	return idCell(e.Peer, addresses)
}

// hasService reports whether some holder runs in a systemd unit or was
// passed its descriptor by name: only then is there a SERVICE column.
func hasService(e *inspect.Entry) bool {
	for _, h := range e.Holders {
		if h.Unit != "" || h.FDName != "" {
			return true
		}
	}
	return false
}

// serviceCell names the holders' units, each with the name its descriptor
// was passed under (nginx.service:api; -:api without a unit), once each in
// holder order. A unit named with a descriptor name is not repeated
// without it (the workers of a server that was passed the socket). On a
// socket-activated socket systemd's own holder is left out, and
// "(activated)" said instead.
func serviceCell(e *inspect.Entry) string {
	type part struct{ unit, name string }
	var ps []part
	for i := range e.Holders {
		h := &e.Holders[i]
		if (h.Unit == "" && h.FDName == "") || e.SocketActivated && inspect.IsSystemdManager(h) {
			continue
		}
		if p := (part{h.Unit, h.FDName}); !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	var out []string
	for _, p := range ps {
		if p.name == "" && slices.ContainsFunc(ps, func(q part) bool { return q.unit == p.unit && q.name != "" }) {
			continue
		}
		c := "-"
		if p.unit != "" {
			c = Escape(p.unit)
		}
		if p.name != "" {
			c += ":" + Escape(p.name)
		}
		out = append(out, c)
	}
	s := strings.Join(out, ",")
	if e.SocketActivated {
		if s == "" {
			return "(activated)"
		}
		s += " (activated)"
	}
	if s == "" {
		return "-"
	}
	return s
}

// netnsCell is the namespace inode, then the holder's container as
// runtime:name, runtime:namespace/pod/name for a Kubernetes container, or
// runtime:short-id (the 12 digits docker ps shows) when the runtime did
// not name it.
func netnsCell(e *inspect.Entry) string {
	s := "-"
	if e.Known.Has(inspect.KnownNetns) {
		s = strconv.FormatUint(e.Netns, 10)
	}
	if c := e.Container; c != nil {
		s += "/" + Escape(c.Runtime) + ":" + ContainerName(c)
	}
	return s
}

// ContainerName is how a table or a label names a container, escaped:
// its name, within its pod and namespace where it has them, else its
// short id.
func ContainerName(c *inspect.Container) string {
	if c.Name == "" && c.Pod == "" {
		id := c.ID
		if len(id) > 12 {
			id = id[:12]
		}
		return Escape(id)
	}
	var parts []string
	for _, p := range []string{c.Namespace, c.Pod, c.Name} {
		if p != "" {
			parts = append(parts, Escape(p))
		}
	}
	return strings.Join(parts, "/")
}

func displayPath(e *inspect.Entry) string {
	if e.Path == "" {
		return "(unnamed)"
	}
	return EscapeName(e.Path, e.Abstract)
}

func stateCell(e *inspect.Entry, color bool) string {
	s := e.State.String()
	var marks []string
	switch e.FileStatus {
	case inspect.FileGone:
		marks = append(marks, "file gone")
	case inspect.FileReplaced:
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
func holderCells(hs []inspect.Holder) (pids, users, fds string) {
	switch len(hs) {
	case 0:
		return "-", "-", "-"
	case 1:
		// Most sockets have one holder: its cells without the lists.
		h := &hs[0]
		cmd, user := "?", "?"
		if h.Known {
			cmd = Escape(h.Command)
			if h.User != "" || !h.UIDUnknown {
				user = text.NameOr(h.User, h.UID)
			}
		}
		return strconv.Itoa(h.PID) + "/" + cmd, user, strconv.Itoa(h.FD)
	}
	var p, u, f []string
	for _, h := range hs {
		cmd := "?"
		if h.Known {
			cmd = Escape(h.Command)
			name := text.NameOr(h.User, h.UID)
			if h.User == "" && h.UIDUnknown {
				name = "?"
			}
			if !slices.Contains(u, name) {
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

func peerCell(e *inspect.Entry, addresses bool) string {
	var ps []inspect.Peer
	if e.Remote != nil {
		ps = append(ps, *e.Remote)
	}
	ps = append(ps, e.Clients...)
	if len(ps) == 0 {
		if !e.Known.Has(inspect.KnownPeer) {
			return "?"
		}
		return "-"
	}
	var out []string
	for _, p := range ps {
		if len(p.Holders) == 0 {
			if addresses {
				out = append(out, p.ID.Hex())
			} else {
				out = append(out, "inode "+idCell(p.ID, false))
			}
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
