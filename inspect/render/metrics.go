package render

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/udsls/udsls/inspect"
)

// Metrics gathers udsls series for the Prometheus text format. The output
// carries no Go runtime or process metrics of udsls itself, so
// node_exporter's textfile collector takes it as is. Labels stay bounded:
// type and state, listener paths, stale file directories, checked paths;
// never one per connection.
//
// It writes the format itself, as client_golang's registry and expfmt
// wrote it (TestMetricsLikeClientGolang): linking client_golang cost every
// run of udsls its package initialisation (client_golang, procfs,
// protobuf), a fifth of the start-up, for the rare -o prometheus.
type Metrics struct {
	families map[string]*gaugeVec
	err      error
}

// gaugeVec is one family of gauges: a series per distinct label values.
type gaugeVec struct {
	name, help string
	labels     []string // as given to gauge and set
	order      []int    // indexes of labels, sorted by name
	series     map[string]*gaugeSeries
}

type gaugeSeries struct {
	values []string // in the order of the sorted label names
	v      float64
}

// NewMetrics returns an empty set of series.
func NewMetrics() *Metrics { return &Metrics{families: map[string]*gaugeVec{}} }

func (m *Metrics) gauge(name, help string, labels ...string) *gaugeVec {
	g := &gaugeVec{name: name, help: help, labels: labels, series: map[string]*gaugeSeries{}}
	for i := range labels {
		g.order = append(g.order, i)
	}
	slices.SortFunc(g.order, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
	if _, dup := m.families[name]; dup {
		if m.err == nil {
			m.err = fmt.Errorf("duplicate metrics collector registration attempted: %s", name)
		}
		return g
	}
	m.families[name] = g
	return g
}

func (m *Metrics) set(g *gaugeVec, v float64, labels ...string) {
	if len(labels) != len(g.labels) {
		if m.err == nil {
			m.err = fmt.Errorf("%s: %d label values for %d labels", g.name, len(labels), len(g.labels))
		}
		return
	}
	for _, l := range labels {
		if !utf8.ValidString(l) {
			if m.err == nil {
				m.err = fmt.Errorf("label value %q is not valid UTF-8", l)
			}
			return
		}
	}
	key := strings.Join(labels, "\xff")
	s, ok := g.series[key]
	if !ok {
		s = &gaugeSeries{values: make([]string, len(labels))}
		for j, i := range g.order {
			s.values[j] = labels[i]
		}
		g.series[key] = s
	}
	s.v = v
}

// label makes an untrusted name a valid label value: the library refuses
// invalid UTF-8, and an escaped name cannot pass for another one. Only the
// listing knows abstract names; the other labels are filesystem paths, or
// --check arguments, where a leading "@" already means abstract.
func label(name string) string { return Escape(name) }

// AddListing adds the sockets of a snapshot counted by type and state, and
// per-listener series for the listeners among entries (the ones a query
// selected), labelled by path and network namespace: the same abstract
// name in two namespaces is two listeners. When several listeners share
// both (the file was replaced), the one the path reaches speaks for it,
// then the one with the most pending connections.
func (m *Metrics) AddListing(snap *inspect.Snapshot, entries []inspect.Entry) {
	sockets := m.gauge("udsls_sockets", "Unix domain sockets seen, by type and state.", "type", "state")
	type key struct{ t, s string }
	counts := map[key]int{}
	for i := range snap.Sockets {
		counts[key{snap.Sockets[i].Type.String(), snap.Sockets[i].State.String()}]++
	}
	for k, n := range counts {
		m.set(sockets, float64(n), k.t, k.s)
	}

	conns := m.gauge("udsls_listener_connections", "Accepted connections of a listener that are still open.", "path", "netns", "container")
	pending := m.gauge("udsls_listener_pending_connections", "Connections waiting to be accepted by a listener.", "path", "netns", "container")
	backlog := m.gauge("udsls_listener_backlog", "Listen backlog of a listener: how many connections may wait.", "path", "netns", "container")
	type series struct{ path, netns string }
	best := map[series]*inspect.Entry{}
	var order []series
	for i := range entries {
		e := &entries[i]
		if !e.Listening() || !e.Named() {
			continue
		}
		k := series{path: EscapeName(e.Path, e.Abstract)}
		if e.Known.Has(inspect.KnownNetns) {
			k.netns = strconv.FormatUint(e.Netns, 10)
		}
		b, ok := best[k]
		if !ok {
			order = append(order, k)
		}
		switch {
		case !ok:
			best[k] = e
		case (e.FileStatus == inspect.FileOK) != (b.FileStatus == inspect.FileOK):
			if e.FileStatus == inspect.FileOK {
				best[k] = e
			}
		case e.Known.Has(inspect.KnownQueues) && (!b.Known.Has(inspect.KnownQueues) || e.RecvQueue > b.RecvQueue):
			best[k] = e
		}
	}
	units := m.gauge("udsls_listener_unit_info", "The systemd unit serving a listener, and the name systemd passed it under; always 1.", "path", "netns", "unit", "fd_name")
	for _, k := range order {
		e := best[k]
		// The container the listener's holder runs in, by name where its
		// runtime told it: a label, not part of the key, since one path
		// in one namespace is one listener whoever holds it.
		ctr := ""
		if e.Container != nil {
			ctr = ContainerName(e.Container)
		}
		if unit, name := ListenerUnit(e); unit != "" {
			m.set(units, 1, k.path, k.netns, unitLabel(unit), unitLabel(name))
		}
		if !e.ConnectionsUnknown {
			m.set(conns, float64(e.Connections), k.path, k.netns, ctr)
		}
		if e.Known.Has(inspect.KnownQueues) {
			m.set(pending, float64(e.RecvQueue), k.path, k.netns, ctr)
			m.set(backlog, float64(e.SendQueue), k.path, k.netns, ctr)
		}
	}
}

// unitLabel keeps a unit or fd name as systemd spells it (foo\x2dbar.service,
// which systemctl takes): both are printable ASCII when systemd made them.
// Anything else is escaped as a path label is.
func unitLabel(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7f {
			return label(s)
		}
	}
	return s
}

// ListenerUnit is the unit that serves a socket and the name its
// descriptor was passed under: those of the first holder in a unit, past
// systemd itself on a socket-activated socket. A holder passed the socket
// by name speaks for its unit before one that was not (a worker).
func ListenerUnit(e *inspect.Entry) (unit, fdName string) {
	for i := range e.Holders {
		h := &e.Holders[i]
		if h.Unit == "" || e.SocketActivated && inspect.IsSystemdManager(h) {
			continue
		}
		if unit == "" || h.Unit == unit && fdName == "" {
			unit, fdName = h.Unit, h.FDName
		}
	}
	return unit, fdName
}

// AddChecks adds udsls_check_up for each checked path.
func (m *Metrics) AddChecks(results []inspect.CheckResult) {
	up := m.gauge("udsls_check_up", "Whether the socket took a connection and met every expectation (1) or not (0).", "path")
	for i := range results {
		v := 0.0
		if results[i].Healthy() {
			v = 1
		}
		m.set(up, v, label(results[i].Path))
	}
}

// AddStale adds what a stale-file search found: stale files still in
// place, counted by the directory that holds them (every walked directory
// is present, at 0 when clean, so alerts have a series to watch), and the
// totals of socket files scanned, socket files that could not be judged,
// and live sockets clients cannot reach by their path.
func (m *Metrics) AddStale(rep *inspect.StaleReport) {
	stale := m.gauge("udsls_stale_socket_files", "Socket files nothing is bound to, by the directory that holds them.", "directory")
	counts := map[string]int{}
	for _, d := range rep.Dirs {
		counts[label(d)] = 0
	}
	for i := range rep.Stale {
		if !rep.Stale[i].Removed {
			counts[label(filepath.Dir(rep.Stale[i].Path))]++
		}
	}
	for d, n := range counts {
		m.set(stale, float64(n), d)
	}
	for _, t := range []struct {
		name, help string
		v          int
	}{
		{"udsls_stale_scanned_socket_files", "Socket files the stale-file search examined.", rep.Sockets},
		{"udsls_stale_unchecked_socket_files", "Socket files that may be stale but could not be judged (permission denied, failed probe).", rep.Unchecked},
		{"udsls_stale_unreachable_sockets", "Live listeners and bound datagram sockets whose file is gone or replaced, so that clients cannot reach them by path.", len(rep.Unreachable)},
	} {
		m.set(m.gauge(t.name, t.help), float64(t.v))
	}
}

// Family is one family of gauges as the exposition format orders it.
type Family struct {
	Name, Help string
	Labels     []string // sorted
	Series     []Series // sorted by their values, taken in order
}

// Series is one gauge of a Family.
type Series struct {
	Values []string // in the order of Family.Labels
	Value  float64
}

// Families returns the families by name, those without series left out:
// what Write prints, and what the exporter serves without a round trip
// through the text (which took two thirds of a scrape's own work).
func (m *Metrics) Families() ([]Family, error) {
	if m.err != nil {
		return nil, m.err
	}
	var fams []Family
	for _, name := range slices.Sorted(maps.Keys(m.families)) {
		g := m.families[name]
		if len(g.series) == 0 {
			continue
		}
		f := Family{Name: name, Help: g.help, Labels: make([]string, len(g.order)), Series: make([]Series, 0, len(g.series))}
		for j, i := range g.order {
			f.Labels[j] = g.labels[i]
		}
		for _, s := range g.series {
			f.Series = append(f.Series, Series{Values: s.values, Value: s.v})
		}
		slices.SortFunc(f.Series, func(a, b Series) int { return slices.Compare(a.Values, b.Values) })
		fams = append(fams, f)
	}
	return fams, nil
}

// Write prints the series in the Prometheus text exposition format:
// Families, each with HELP and TYPE.
func (m *Metrics) Write(w io.Writer) error {
	fams, err := m.Families()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s gauge\n", f.Name, helpEscaper.Replace(f.Help), f.Name)
		for _, s := range f.Series {
			bw.WriteString(f.Name)
			for i, l := range f.Labels {
				if i == 0 {
					bw.WriteByte('{')
				} else {
					bw.WriteByte(',')
				}
				bw.WriteString(l)
				bw.WriteString(`="`)
				labelEscaper.WriteString(bw, s.Values[i])
				bw.WriteByte('"')
			}
			if len(f.Labels) > 0 {
				bw.WriteByte('}')
			}
			bw.WriteByte(' ')
			bw.WriteString(formatValue(s.Value))
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// formatValue writes a sample value as expfmt does.
func formatValue(f float64) string {
	switch {
	case f == 1:
		return "1"
	case f == 0:
		return "0"
	case f == -1:
		return "-1"
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, +1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
