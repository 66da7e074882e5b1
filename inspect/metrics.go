package inspect

import (
	"io"
	"path/filepath"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Metrics gathers udsls series for the Prometheus text format. Its
// registry is private, so the output carries no Go runtime or process
// metrics of udsls itself, and node_exporter's textfile collector takes
// it as is. Labels stay bounded: type and state, listener paths, stale
// file directories, checked paths; never one per connection.
type Metrics struct {
	reg *prometheus.Registry
	err error
}

// NewMetrics returns an empty set of series.
func NewMetrics() *Metrics { return &Metrics{reg: prometheus.NewRegistry()} }

func (m *Metrics) gauge(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	if err := m.reg.Register(g); err != nil && m.err == nil {
		m.err = err
	}
	return g
}

func (m *Metrics) set(g *prometheus.GaugeVec, v float64, labels ...string) {
	s, err := g.GetMetricWithLabelValues(labels...)
	if err != nil {
		if m.err == nil {
			m.err = err
		}
		return
	}
	s.Set(v)
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
func (m *Metrics) AddListing(snap *Snapshot, entries []Entry) {
	sockets := m.gauge("udsls_sockets", "Unix domain sockets seen, by type and state.", "type", "state")
	type key struct{ t, s string }
	counts := map[key]int{}
	for i := range snap.Sockets {
		counts[key{snap.Sockets[i].Type.String(), snap.Sockets[i].State.String()}]++
	}
	for k, n := range counts {
		m.set(sockets, float64(n), k.t, k.s)
	}

	conns := m.gauge("udsls_listener_connections", "Accepted connections of a listener that are still open.", "path", "netns")
	pending := m.gauge("udsls_listener_pending_connections", "Connections waiting to be accepted by a listener.", "path", "netns")
	backlog := m.gauge("udsls_listener_backlog", "Listen backlog of a listener: how many connections may wait.", "path", "netns")
	type series struct{ path, netns string }
	best := map[series]*Entry{}
	var order []series
	for i := range entries {
		e := &entries[i]
		if !e.Listening() || !e.Named() {
			continue
		}
		k := series{path: EscapeName(e.Path, e.Abstract)}
		if e.Known.Has(KnownNetns) {
			k.netns = strconv.FormatUint(e.Netns, 10)
		}
		b, ok := best[k]
		if !ok {
			order = append(order, k)
		}
		switch {
		case !ok:
			best[k] = e
		case (e.FileStatus == FileOK) != (b.FileStatus == FileOK):
			if e.FileStatus == FileOK {
				best[k] = e
			}
		case e.Known.Has(KnownQueues) && (!b.Known.Has(KnownQueues) || e.RecvQueue > b.RecvQueue):
			best[k] = e
		}
	}
	for _, k := range order {
		e := best[k]
		if !e.ConnectionsUnknown {
			m.set(conns, float64(e.Connections), k.path, k.netns)
		}
		if e.Known.Has(KnownQueues) {
			m.set(pending, float64(e.RecvQueue), k.path, k.netns)
			m.set(backlog, float64(e.SendQueue), k.path, k.netns)
		}
	}
}

// AddChecks adds udsls_check_up for each checked path.
func (m *Metrics) AddChecks(results []CheckResult) {
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
func (m *Metrics) AddStale(rep *StaleReport) {
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

// Write prints the series in the Prometheus text exposition format.
func (m *Metrics) Write(w io.Writer) error {
	if m.err != nil {
		return m.err
	}
	mfs, err := m.reg.Gather()
	if err != nil {
		return err
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return nil
}
