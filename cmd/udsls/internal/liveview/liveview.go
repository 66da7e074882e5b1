// Package liveview is udsls --watch on a terminal: a full-screen table of
// the sockets, most pressed first, refreshed in place. It gets frames from
// a Refresh func and draws them with Bubble Tea; every name in a cell went
// through the listing table's escaping (inspect/render).
package liveview

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
)

// Config is what the view shows and how often.
type Config struct {
	// Refresh takes a snapshot: of every socket when all is set, else of
	// those the command line asks for.
	Refresh  func(ctx context.Context, all bool) (*inspect.Frame, error)
	Interval time.Duration
	// For, when set, ends the view after that long.
	For time.Duration
	// All starts the view with every socket (-a).
	All bool
	// Cannot says what this run cannot see, one item each ("traffic (why)").
	Cannot []string
	// Color allows colours; without it changes show in bold and faint.
	Color bool
}

// Run shows the view until q, Ctrl-C, cfg.For or ctx ends it. Keys are
// read from in, the terminal; without one (nil) only cfg.For or ctx ends it.
func Run(ctx context.Context, cfg Config, in *os.File, out io.Writer) error {
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithOutput(out)}
	if in != nil {
		opts = append(opts, tea.WithInput(in))
	} else {
		opts = append(opts, tea.WithInput(nil))
	}
	if !cfg.Color {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	m := New(ctx, cfg)
	p := tea.NewProgram(m, opts...)
	suspending, stop := stopLikeCtrlZ(p)
	defer stop()
	m.suspending = suspending
	if _, err := p.Run(); err != nil {
		return err
	}
	return m.err
}

// sortKey is an order of the rows; s cycles through them.
type sortKey int

const (
	byPressure sortKey = iota
	byRecvQ
	byTraffic
	byConns
	byPath
	byPID
	sortKeys
)

var sortNames = [...]string{"pressure", "recv-q", "traffic", "conns", "path", "pid"}

// Model is the view's state; Update and View are Bubble Tea's.
type Model struct {
	ctx context.Context
	cfg Config

	width, height int
	frame         *inspect.Frame
	err           error
	all_          []row // the rows of frame built
	built         *inspect.Frame
	rows          []*row // those the filter keeps, sorted
	top           int    // first row shown
	sort          sortKey
	filter        string
	filtering     bool // typing the filter
	all           bool
	paused        bool
	help          bool
	// suspending is told that Ctrl-Z stops the view (see stopLikeCtrlZ).
	suspending func()
	// gen numbers the refresh loops: a tick or frame of an older one,
	// before a pause or a change of view, is dropped.
	gen int
}

// row is a frame row with what orders it; its cells are made only when
// it is shown or filtered (a refresh may have 10k rows, a screen 20).
type row struct {
	inspect.WatchRow
	fill  float64 // pending/backlog of a listener
	recvq uint32  // bytes queued to a socket that is no listener
	rate  float64 // bytes/s both ways; -1 not known
	pid   int     // the first holder's; -1 none
	order int     // in the frame
	cells *cells
}

type cells struct {
	path, typ, state, backlog, recvq, sendq, conns, sent, recv, pids, users string
}

type (
	frameMsg struct {
		gen   int
		frame *inspect.Frame
		err   error
	}
	tickMsg struct{ gen int }
	endMsg  struct{}
)

// New makes the model; Run runs it.
func New(ctx context.Context, cfg Config) *Model {
	return &Model{ctx: ctx, cfg: cfg, all: cfg.All, width: 80, height: 24}
}

func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.refresh()}
	if m.cfg.For > 0 {
		cmds = append(cmds, tea.Tick(m.cfg.For, func(time.Time) tea.Msg { return endMsg{} }))
	}
	return tea.Batch(cmds...)
}

func (m *Model) refresh() tea.Cmd {
	gen, all := m.gen, m.all
	return func() tea.Msg {
		f, err := m.cfg.Refresh(m.ctx, all)
		return frameMsg{gen: gen, frame: f, err: err}
	}
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.clamp()
	case frameMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		if msg.err != nil {
			m.err = msg.err
			return m, tea.Quit
		}
		m.frame = msg.frame
		m.rebuild()
		gen := m.gen
		return m, tea.Tick(m.cfg.Interval, func(time.Time) tea.Msg { return tickMsg{gen} })
	case tickMsg:
		if msg.gen != m.gen || m.paused {
			return m, nil
		}
		return m, m.refresh()
	case endMsg:
		return m, tea.Quit
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case tea.PasteMsg:
		// A terminal sends what is pasted apart from keys (bracketed paste).
		if m.filtering {
			m.filter += filterText(msg.Content)
			m.rebuild()
		}
	}
	return m, nil
}

// Err is why the view ended other than by a key or the end of --for.
func (m *Model) Err() error { return m.err }

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	s := k.String()
	switch s {
	case "ctrl+c":
		return tea.Quit
	case "ctrl+z":
		// The terminal is raw, so Ctrl-Z is a key, not a SIGTSTP: stop
		// as the shell's job control expects, the terminal given back.
		if m.suspending != nil {
			m.suspending()
		}
		return tea.Suspend
	}
	if m.filtering {
		switch s {
		case "enter":
			m.filtering = false
		case "esc":
			m.filtering, m.filter = false, ""
		case "backspace":
			if r := []rune(m.filter); len(r) > 0 {
				m.filter = string(r[:len(r)-1])
			}
		default:
			m.filter += filterText(k.Text)
		}
		m.rebuild()
		return nil
	}
	page := max(1, m.bodyHeight()-1)
	switch s {
	case "q":
		return tea.Quit
	case "?":
		m.help = !m.help
	case "esc":
		m.help, m.filter = false, ""
		m.rebuild()
	case "s":
		m.sort = (m.sort + 1) % sortKeys
		m.rebuild()
	case "S":
		m.sort = (m.sort + sortKeys - 1) % sortKeys
		m.rebuild()
	case "/":
		m.filtering, m.help = true, false
	case "a":
		m.all = !m.all
		m.gen++
		m.top = 0
		return m.refresh()
	case "p", "space":
		m.paused = !m.paused
		if !m.paused {
			m.gen++
			return m.refresh()
		}
	case "up", "k":
		m.top--
	case "down", "j":
		m.top++
	case "pgup", "b":
		m.top -= page
	case "pgdown", "f":
		m.top += page
	case "home", "g":
		m.top = 0
	case "end", "G":
		m.top = len(m.rows)
	}
	m.clamp()
	return nil
}

// filterText is what of typed or pasted text goes into the filter:
// printable text only, as a name with control characters or bytes that
// are not UTF-8 is matched through its escaped form, which is printable.
func filterText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

// bodyHeight is how many rows fit under the header lines and above the
// status line.
func (m *Model) bodyHeight() int { return max(1, m.height-4) }

func (m *Model) clamp() {
	m.top = max(0, min(m.top, len(m.rows)-m.bodyHeight()))
}

// rebuild makes the rows of the frame: cells, filter, order.
func (m *Model) rebuild() {
	m.rows = m.rows[:0]
	if m.frame == nil {
		return
	}
	if m.built != m.frame {
		m.built = m.frame
		m.all_ = m.all_[:0]
		for i, fr := range m.frame.Rows {
			m.all_ = append(m.all_, makeRow(fr))
			m.all_[i].order = i
		}
	}
	needle := strings.ToLower(m.filter)
	for i := range m.all_ {
		r := &m.all_[i]
		if needle != "" {
			c := r.cellsOf()
			if !strings.Contains(strings.ToLower(c.path+" "+c.pids+" "+c.users+" "+c.typ+" "+c.state), needle) {
				continue
			}
		}
		m.rows = append(m.rows, r)
	}
	// What vanished is listed last, whatever the order. The order is
	// total, so an unstable sort is stable.
	slices.SortFunc(m.rows, func(a, b *row) int {
		return cmp.Or(cmp.Compare(a.gone(), b.gone()), m.sort.compare(a, b))
	})
	m.clamp()
}

func makeRow(w inspect.WatchRow) row {
	e := w.Entry
	r := row{WatchRow: w, rate: -1, pid: -1}
	if len(e.Holders) > 0 {
		r.pid = e.Holders[0].PID
	}
	if e.Known.Has(inspect.KnownQueues) {
		switch {
		case !e.Listening():
			r.recvq = e.RecvQueue
		case e.SendQueue > 0:
			r.fill = float64(e.RecvQueue) / float64(e.SendQueue)
		case e.RecvQueue > 0:
			r.fill = float64(e.RecvQueue) + 1
		}
	}
	if w.Rate != nil {
		r.rate = w.Rate.Sent + w.Rate.Received
	}
	return r
}

func (r *row) gone() int {
	if r.Change == inspect.Vanished {
		return 1
	}
	return 0
}

// cellsOf makes the row's cells, once.
func (r *row) cellsOf() *cells {
	if r.cells != nil {
		return r.cells
	}
	e := r.Entry
	c := &cells{path: render.PathCell(e), typ: e.Type.String(), state: e.State.String()}
	c.recvq, c.sendq, c.backlog = render.QueueCells(e)
	c.pids, c.users, _ = render.HolderCells(e.Holders)
	switch {
	case e.Full():
		c.state = "FULL"
	case e.FileStatus == inspect.FileGone:
		c.state += " (gone)"
	case e.FileStatus == inspect.FileReplaced:
		c.state += " (repl)"
	}
	c.conns = "-"
	switch {
	case !e.Listening() && (e.Type != inspect.TypeDgram || !e.Named()):
	case e.ConnectionsUnknown:
		c.conns = "?"
	default:
		c.conns = strconv.Itoa(e.Connections)
	}
	c.sent, c.recv = "-", "-"
	if r.Rate != nil {
		c.sent, c.recv = rateCell(r.Rate.Sent), rateCell(r.Rate.Received)
	}
	r.cells = c
	return c
}

// compare orders rows; ties keep the frame's order, the listing's (by
// path, holder, socket), which is also the order by path.
func (k sortKey) compare(a, b *row) int {
	var c int
	switch k {
	case byPressure:
		c = cmp.Or(-cmp.Compare(a.fill, b.fill), -cmp.Compare(a.recvq, b.recvq),
			-cmp.Compare(a.rate, b.rate), -cmp.Compare(a.Connections, b.Connections))
	case byRecvQ:
		c = -cmp.Compare(a.recvq, b.recvq)
	case byTraffic:
		c = -cmp.Compare(a.rate, b.rate)
	case byConns:
		c = -cmp.Compare(a.Connections, b.Connections)
	case byPID:
		c = cmp.Compare(a.pid, b.pid)
	}
	return cmp.Or(c, a.order-b.order)
}

// rateCell is bytes per second in at most 5 columns: 0, 512, 1.2K, 35M.
func rateCell(v float64) string {
	if v < 1 {
		return "0"
	}
	if v < 1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	for _, u := range []string{"K", "M", "G", "T"} {
		v /= 1024
		if v < 9.95 {
			return strconv.FormatFloat(v, 'f', 1, 64) + u
		}
		if v < 1000 || u == "T" {
			return strconv.FormatFloat(v, 'f', 0, 64) + u
		}
	}
	return "?"
}

// column is one column of the table; drop is the order in which narrow
// terminals lose them (0: never).
type column struct {
	name  string
	drop  int
	right bool
	cell  func(*cells) string
}

var columns = []column{
	{name: "PATH", cell: func(c *cells) string { return c.path }},
	{name: "TYPE", drop: 2, cell: func(c *cells) string { return c.typ }},
	{name: "STATE", cell: func(c *cells) string { return c.state }},
	{name: "BACKLOG", right: true, cell: func(c *cells) string { return c.backlog }},
	{name: "RECV-Q", drop: 7, right: true, cell: func(c *cells) string { return c.recvq }},
	{name: "SEND-Q", drop: 3, right: true, cell: func(c *cells) string { return c.sendq }},
	{name: "CONNS", drop: 4, right: true, cell: func(c *cells) string { return c.conns }},
	{name: "SENT/s", drop: 6, right: true, cell: func(c *cells) string { return c.sent }},
	{name: "RECV/s", drop: 5, right: true, cell: func(c *cells) string { return c.recv }},
	{name: "PID/COMMAND", cell: func(c *cells) string { return c.pids }},
	{name: "USER", drop: 1, cell: func(c *cells) string { return c.users }},
}

// Widths of the flexible columns: PATH takes what is left, down to
// minPath; PID/COMMAND at most maxHolder, and down to minHolder on a
// narrow terminal.
const (
	minPath   = 20
	maxHolder = 20
	minHolder = 10
	maxUser   = 10
)

// layout picks the columns that fit and their widths, from the rows shown.
func (m *Model) layout(shown []*row) ([]column, []int) {
	cols := slices.Clone(columns)
	widths := make([]int, len(cols))
	for i, c := range cols {
		widths[i] = len(c.name)
		for j := range shown {
			widths[i] = max(widths[i], render.CellWidth(c.cell(shown[j].cellsOf())))
		}
		switch c.name {
		case "PID/COMMAND":
			widths[i] = min(widths[i], maxHolder)
		case "USER":
			widths[i] = min(widths[i], maxUser)
		}
	}
	// The mark column and one space between columns.
	used := func() int {
		n := 1
		for i, c := range cols {
			if c.name != "PATH" {
				n += 1 + widths[i]
			}
		}
		return n + 1
	}
	for drop := 1; m.width-used() < minPath && drop <= 7; drop++ {
		if drop == 5 {
			// Before the traffic goes, the commands give way.
			i := slices.IndexFunc(cols, func(c column) bool { return c.name == "PID/COMMAND" })
			widths[i] = max(minHolder, min(widths[i], widths[i]-(minPath-(m.width-used()))))
		}
		for i := range cols {
			if cols[i].drop == drop {
				cols, widths = slices.Delete(cols, i, i+1), slices.Delete(widths, i, i+1)
				break
			}
		}
	}
	widths[0] = max(len("PATH"), min(widths[0], m.width-used()))
	return cols, widths
}

func (m *Model) styles() (header, changed, appeared, vanished, full lipgloss.Style) {
	s := lipgloss.NewStyle()
	if !m.cfg.Color {
		return s.Reverse(true), s.Bold(true), s.Bold(true), s.Faint(true), s.Bold(true)
	}
	return s.Bold(true).Reverse(true), s.Foreground(lipgloss.Color("3")).Bold(true), s.Foreground(lipgloss.Color("2")).Bold(true),
		s.Foreground(lipgloss.Color("1")).Faint(true), s.Foreground(lipgloss.Color("1")).Bold(true)
}

// View draws the screen: two header lines, the column names, the rows and
// a status line, each cut to the terminal's width.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.WindowTitle = "udsls --watch"
	return v
}

// Render is the screen as text, with styles.
func (m *Model) Render() string {
	headerStyle, changedStyle, newStyle, goneStyle, fullStyle := m.styles()
	var lines []string
	add := func(s string, st *lipgloss.Style) {
		s = ansi.Truncate(s, m.width, "…")
		if st != nil {
			s = st.Render(s)
		}
		lines = append(lines, s)
	}
	// Header: when, the machine's totals, and the run's blind spots.
	h := "udsls --watch"
	if f := m.frame; f != nil {
		t := f.Totals
		h += fmt.Sprintf("  %s  sockets %d  listeners %d  connected %d  full %d",
			f.Time.Format("15:04:05"), t.Sockets, t.Listeners, t.Connections, t.Full)
	}
	if m.paused {
		h += "  [paused]"
	}
	add(h, nil)
	var info []string
	if len(m.cfg.Cannot) > 0 {
		// The reasons quote errors, and errors quote paths.
		info = append(info, "cannot see: "+render.EscapeText(strings.Join(m.cfg.Cannot, ", ")))
	}
	if f := m.frame; f != nil && len(f.Warnings) > 0 {
		info = append(info, "warning: "+render.EscapeText(f.Warnings[0]))
	}
	add(strings.Join(info, "; "), nil)

	if m.help {
		for _, l := range strings.Split(helpText, "\n") {
			add(l, nil)
		}
		for len(lines) < m.height-1 {
			lines = append(lines, "")
		}
		add("? or esc: back to the sockets", nil)
		return strings.Join(lines[:min(len(lines), m.height)], "\n")
	}

	body := m.bodyHeight()
	shown := m.rows[min(m.top, len(m.rows)):min(m.top+body, len(m.rows))]
	cols, widths := m.layout(shown)
	cells := make([]string, len(cols))
	line := func(mark string, cell func(i int) string) string {
		var b strings.Builder
		b.WriteString(mark)
		for i := range cols {
			c := render.Shorten(cell(i), widths[i])
			pad := strings.Repeat(" ", max(0, widths[i]-render.CellWidth(c)))
			b.WriteByte(' ')
			if cols[i].right {
				b.WriteString(pad + c)
			} else if i < len(cols)-1 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(c)
			}
		}
		return strings.TrimRight(b.String(), " ")
	}
	hl := line(" ", func(i int) string { return cols[i].name })
	hl += strings.Repeat(" ", max(0, m.width-render.CellWidth(hl)))
	add(hl, &headerStyle)
	for j := range shown {
		r := shown[j]
		for i, c := range cols {
			cells[i] = c.cell(r.cellsOf())
		}
		mark, st := " ", (*lipgloss.Style)(nil)
		switch r.Change {
		case inspect.Changed:
			mark, st = "*", &changedStyle
		case inspect.Appeared:
			mark, st = "+", &newStyle
		case inspect.Vanished:
			mark, st = "-", &goneStyle
		}
		if r.Change != inspect.Vanished && r.Full() {
			st = &fullStyle
		}
		add(line(mark, func(i int) string { return cells[i] }), st)
	}
	if m.frame == nil {
		add(" taking the first snapshot…", nil)
	} else if len(m.rows) == 0 {
		add(" no sockets match", nil)
	}
	for len(lines) < m.height-1 {
		lines = append(lines, "")
	}
	// Status: where we are, and how to get out.
	var st string
	switch {
	case m.filtering:
		st = "filter: " + render.EscapeText(m.filter) + "▏  enter: keep  esc: clear"
	default:
		st = fmt.Sprintf("rows %d-%d of %d  sort %s", min(m.top+1, len(m.rows)), m.top+len(shown), len(m.rows), sortNames[m.sort])
		if m.filter != "" {
			st += "  filter " + strconv.Quote(m.filter)
		}
		if m.all {
			st += "  all"
		}
		st += "  ? help  q quit"
	}
	add(st, nil)
	return strings.Join(lines[:min(len(lines), m.height)], "\n")
}

const helpText = `Keys
  s / S          next / previous order: pressure, recv-q, traffic,
                 conns, path, pid
  /              filter rows by text (path, command, user, type, state)
  a              every socket, or back to the sockets asked for
  p, space       pause / resume refreshing
  up/down, j/k   scroll a row     pgup/pgdown, b/f   scroll a page
  home/end, g/G  first / last row
  ?              this help        q, ctrl+c          quit
  ctrl+z         stop (fg resumes)

Rows: * changed since the last refresh, + new, - gone (shown once).
Pressure: backlog fill (pending/backlog), then receive queue, then
traffic, then connections. SENT/s and RECV/s are bytes per second
since the last refresh; - where traffic is not counted.`
