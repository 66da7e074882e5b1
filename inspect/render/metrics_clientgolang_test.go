package render

import (
	"bytes"
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/udsls/udsls/inspect"
)

// TestMetricsLikeClientGolang: the text Metrics writes is byte for byte
// what client_golang's registry and expfmt wrote for the same series,
// which Metrics used until its package initialisation proved a fifth of
// udsls's start-up.
func TestMetricsLikeClientGolang(t *testing.T) {
	m := NewMetrics()
	m.AddListing(&inspect.Snapshot{Sockets: []inspect.Socket{
		{ID: 1, Type: inspect.TypeStream, State: inspect.StateListening, Path: "/run/b.sock"},
		{ID: 2, Type: inspect.TypeStream, State: inspect.StateListening, Path: "/run/a.sock"},
		{ID: 3, Type: inspect.TypeDgram, State: inspect.StateUnconnected},
	}}, []inspect.Entry{
		{Socket: inspect.Socket{ID: 1, Type: inspect.TypeStream, State: inspect.StateListening, Path: "/run/b.sock", RecvQueue: 3, SendQueue: 128, Known: inspect.KnownQueues | inspect.KnownNetns, Netns: 4026531840}, Connections: 2},
		{Socket: inspect.Socket{ID: 2, Type: inspect.TypeStream, State: inspect.StateListening, Path: "/run/a.sock", Known: inspect.KnownQueues | inspect.KnownNetns, Netns: 4026531840}, Connections: 1e7},
	})
	m.AddChecks([]inspect.CheckResult{{Path: "/run/z.sock"}, {Path: "/run/\"q\"\\\n.sock"}})
	m.AddStale(&inspect.StaleReport{Dirs: []string{"/tmp", "/run/x"}, Sockets: 5, Unchecked: 1})
	odd := m.gauge("udsls_test_odd", "Help with \\ and\nnewline.", "z", "a", "m")
	for i, v := range []float64{0.5, -1, 1e21, math.NaN(), math.Inf(1), math.Inf(-1), 123456789, 0} {
		m.set(odd, v, string(rune('a'+i%3)), `va"l\ue`+"\n", string(rune('c'-i%2)))
	}
	m.gauge("udsls_test_empty", "A family without series is left out.", "x")

	var got bytes.Buffer
	if err := m.Write(&got); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	for name, g := range m.families {
		vec := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: g.help}, g.labels)
		reg.MustRegister(vec)
		for _, s := range g.series {
			// The label values in the order the names were given.
			values := make([]string, len(s.values))
			for j, i := range g.order {
				values[i] = s.values[j]
			}
			vec.WithLabelValues(values...).Set(s.v)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	enc := expfmt.NewEncoder(&want, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	if got.String() != want.String() {
		t.Errorf("Metrics wrote\n%s\nclient_golang wrote\n%s", got.String(), want.String())
	}
	if len(m.families["udsls_test_odd"].series) < 6 {
		t.Fatalf("only %d odd series", len(m.families["udsls_test_odd"].series))
	}
}

// TestMetricsInvalidUTF8: a label value that is not UTF-8 fails the
// output, as client_golang refused it, rather than writing a line
// Prometheus cannot parse.
func TestMetricsInvalidUTF8(t *testing.T) {
	m := NewMetrics()
	m.set(m.gauge("udsls_x", "x", "path"), 1, "\xff")
	if err := m.Write(new(bytes.Buffer)); err == nil {
		t.Fatal("no error for a label value that is not UTF-8")
	}
}
