package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/udsls/udsls/inspect"
)

// parseMetrics reads the text exposition format back, as Prometheus and
// node_exporter's textfile collector do, and flattens it to
// `name{label="value",...}` -> value, with each family's type.
func parseMetrics(t *testing.T, text []byte) (map[string]float64, map[string]dto.MetricType) {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, text)
	}
	series := map[string]float64{}
	types := map[string]dto.MetricType{}
	for name, mf := range mfs {
		types[name] = mf.GetType()
		if mf.GetHelp() == "" {
			t.Errorf("%s has no HELP", name)
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			slices.Sort(ls)
			key := name + "{" + strings.Join(ls, ",") + "}"
			if _, dup := series[key]; dup {
				t.Errorf("duplicate series %s", key)
			}
			series[key] = m.GetGauge().GetValue()
		}
	}
	return series, types
}

// promtoolCheck lints the output with Prometheus's own checker, which CI
// installs; elsewhere the parse above is the check.
func promtoolCheck(t *testing.T, text []byte) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not on PATH (Debian package prometheus): lint skipped, parse checked only")
		return
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s\ninput:\n%s", err, out, text)
	}
}

func TestMetricsListing(t *testing.T) {
	snap := &inspect.Snapshot{
		Sockets: []inspect.Socket{
			{ID: 1, Path: "/run/app.sock", Type: inspect.TypeStream, State: inspect.StateListening, Known: inspect.KnownQueues, RecvQueue: 2, SendQueue: 128},
			{ID: 2, Path: "/run/app.sock", Type: inspect.TypeStream, State: inspect.StateConnected, Known: inspect.KnownQueues, Peer: 3},
			{ID: 3, Type: inspect.TypeStream, State: inspect.StateConnected, Known: inspect.KnownQueues, Peer: 2},
			// procfs on an old kernel: no queues known.
			{ID: 4, Path: `@abstract"quote\`, Abstract: true, Type: inspect.TypeSeqpacket, State: inspect.StateListening},
			{ID: 5, Path: "/run/we\nird\xff.sock", Type: inspect.TypeStream, State: inspect.StateListening, Known: inspect.KnownQueues, SendQueue: 5},
			// Two listeners under one name: the file was replaced.
			{ID: 6, Path: "/run/dup.sock", Type: inspect.TypeStream, State: inspect.StateListening, Known: inspect.KnownQueues, RecvQueue: 1, SendQueue: 10},
			{ID: 7, Path: "/run/dup.sock", Type: inspect.TypeStream, State: inspect.StateListening, Known: inspect.KnownQueues, RecvQueue: 3, SendQueue: 20},
			{ID: 8, Path: "/dev/log", Type: inspect.TypeDgram, State: inspect.StateUnconnected, Known: inspect.KnownQueues},
			{ID: 9, Type: inspect.TypeDgram, State: inspect.StateConnected, Peer: 8},
			// Values no backend names keep their number in the labels.
			{ID: 10, Type: inspect.Type(7), State: inspect.State(9)},
			// One abstract name in two network namespaces: two listeners,
			// with one and two connections.
			{ID: 11, Path: "@ns", Abstract: true, Type: inspect.TypeStream, State: inspect.StateListening, Known: inspect.KnownNetns, Netns: 100},
			{ID: 12, Path: "@ns", Abstract: true, Type: inspect.TypeStream, State: inspect.StateConnected, Known: inspect.KnownNetns, Netns: 100},
			{ID: 13, Path: "@ns", Abstract: true, Type: inspect.TypeStream, State: inspect.StateListening, Known: inspect.KnownNetns, Netns: 200},
			{ID: 14, Path: "@ns", Abstract: true, Type: inspect.TypeStream, State: inspect.StateConnected, Known: inspect.KnownNetns, Netns: 200},
			{ID: 15, Path: "@ns", Abstract: true, Type: inspect.TypeStream, State: inspect.StateConnected, Known: inspect.KnownNetns, Netns: 200},
		},
	}
	r := &inspect.Resolver{
		Process: func(context.Context, int) (inspect.Process, error) {
			return inspect.Process{}, errors.New("no process")
		},
		Lstat:     func(string) (*inspect.FileInfo, error) { return nil, fs.ErrNotExist },
		UserName:  func(uint32) string { return "" },
		GroupName: func(uint32) string { return "" },
	}
	entries := r.Entries(context.Background(), snap, inspect.Query{})
	m := NewMetrics()
	m.AddListing(snap, entries)
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, types := parseMetrics(t, buf.Bytes())
	want := map[string]float64{
		`udsls_sockets{state="listening",type="stream"}`:      6,
		`udsls_sockets{state="listening",type="seqpacket"}`:   1,
		`udsls_sockets{state="connected",type="stream"}`:      5,
		`udsls_sockets{state="unconnected",type="dgram"}`:     1,
		`udsls_sockets{state="connected",type="dgram"}`:       1,
		`udsls_sockets{state="unknown(9)",type="unknown(7)"}`: 1,

		`udsls_listener_connections{container="",netns="",path="/run/app.sock"}`:         1,
		`udsls_listener_pending_connections{container="",netns="",path="/run/app.sock"}`: 2,
		`udsls_listener_backlog{container="",netns="",path="/run/app.sock"}`:             128,

		`udsls_listener_connections{container="",netns="",path="@abstract\"quote\\\\"}`: 0,

		`udsls_listener_connections{container="",netns="",path="/run/we\\nird\\xff.sock"}`:         0,
		`udsls_listener_pending_connections{container="",netns="",path="/run/we\\nird\\xff.sock"}`: 0,
		`udsls_listener_backlog{container="",netns="",path="/run/we\\nird\\xff.sock"}`:             5,

		// Whose the connections are is unknown without the files' identity.

		`udsls_listener_connections{container="",netns="100",path="@ns"}`:                1,
		`udsls_listener_connections{container="",netns="200",path="@ns"}`:                2,
		`udsls_listener_pending_connections{container="",netns="",path="/run/dup.sock"}`: 3,
		`udsls_listener_backlog{container="",netns="",path="/run/dup.sock"}`:             20,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series (-want +got):\n%s\noutput:\n%s", diff, buf.Bytes())
	}
	for name, typ := range types {
		if typ != dto.MetricType_GAUGE {
			t.Errorf("%s is a %v, want a gauge", name, typ)
		}
	}
	promtoolCheck(t, buf.Bytes())
}

func TestMetricsChecks(t *testing.T) {
	results := []inspect.CheckResult{
		{Path: "/run/app.sock", Verdict: inspect.VerdictUp},
		{Path: "/run/app.sock.bak\t\u202e", Verdict: inspect.VerdictStale},
		{Path: "@x", Verdict: inspect.VerdictMismatch},
	}
	m := NewMetrics()
	m.AddChecks(results)
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, _ := parseMetrics(t, buf.Bytes())
	want := map[string]float64{
		`udsls_check_up{path="/run/app.sock"}`:               1,
		`udsls_check_up{path="/run/app.sock.bak\\t\\u202e"}`: 0,
		`udsls_check_up{path="@x"}`:                          0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series (-want +got):\n%s\noutput:\n%s", diff, buf.Bytes())
	}
	promtoolCheck(t, buf.Bytes())
}

func TestMetricsEmpty(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics()
	m.AddListing(&inspect.Snapshot{}, nil)
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	// An empty vector prints nothing, which the collector accepts.
	if buf.Len() != 0 {
		t.Errorf("output for no sockets = %q, want empty", buf.String())
	}
}

func TestMetricsStale(t *testing.T) {
	rep := &inspect.StaleReport{
		Dirs: []string{"/run", "/tmp"},
		Stale: []inspect.StaleFile{
			{Path: "/tmp/a.sock"},
			{Path: "/tmp/b.sock"},
			{Path: "/tmp/sub/c.sock"},
			{Path: "/tmp/gone.sock", Removed: true},
			{Path: "/srv/\xff/d.sock"},
		},
		Unreachable: []inspect.Entry{{Socket: inspect.Socket{ID: 1, Path: "/run/old.sock"}}},
		Sockets:     12,
		Unchecked:   2,
	}
	m := NewMetrics()
	m.AddStale(rep)
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, _ := parseMetrics(t, buf.Bytes())
	want := map[string]float64{
		`udsls_stale_socket_files{directory="/run"}`:       0,
		`udsls_stale_socket_files{directory="/tmp"}`:       2,
		`udsls_stale_socket_files{directory="/tmp/sub"}`:   1,
		`udsls_stale_socket_files{directory="/srv/\\xff"}`: 1,
		`udsls_stale_scanned_socket_files{}`:               12,
		`udsls_stale_unchecked_socket_files{}`:             2,
		`udsls_stale_unreachable_sockets{}`:                1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series (-want +got):\n%s\noutput:\n%s", diff, buf.Bytes())
	}
	promtoolCheck(t, buf.Bytes())
}

// TestMetricsReplacedListener: of two listeners under one path in one
// network namespace, the one the path reaches speaks for it, whatever
// the other's queue.
func TestMetricsReplacedListener(t *testing.T) {
	l := func(id inspect.SocketID, st inspect.FileStatus, pending uint32) inspect.Entry {
		return inspect.Entry{Socket: inspect.Socket{ID: id, Path: "/run/r.sock", Type: inspect.TypeStream, State: inspect.StateListening,
			Known: inspect.KnownQueues | inspect.KnownNetns, Netns: 5, RecvQueue: pending, SendQueue: 10}, FileStatus: st, Connections: int(id)}
	}
	m := NewMetrics()
	m.AddListing(&inspect.Snapshot{}, []inspect.Entry{l(1, inspect.FileReplaced, 9), l(2, inspect.FileOK, 1)})
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, _ := parseMetrics(t, buf.Bytes())
	for k, want := range map[string]float64{
		`udsls_listener_connections{container="",netns="5",path="/run/r.sock"}`:         2,
		`udsls_listener_pending_connections{container="",netns="5",path="/run/r.sock"}`: 1,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v\n%s", k, got[k], want, buf.Bytes())
		}
	}
}

// A listener's series carry its holder's container by the name its
// runtime gave, escaped as every label is, or its short id when unnamed.
func TestMetricsContainerLabel(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	l := func(sid inspect.SocketID, p string, c *inspect.Container) inspect.Entry {
		return inspect.Entry{Socket: inspect.Socket{ID: sid, Path: p, Type: inspect.TypeStream, State: inspect.StateListening},
			Container: c}
	}
	m := NewMetrics()
	m.AddListing(&inspect.Snapshot{}, []inspect.Entry{
		l(1, "/run/a.sock", &inspect.Container{ID: id, Runtime: "docker", Name: "web\x1b[2J"}),
		l(2, "/run/b.sock", &inspect.Container{ID: id, Runtime: "containerd", Name: "api", Pod: "billing-7f9c", Namespace: "shop"}),
		l(3, "/run/c.sock", &inspect.Container{ID: id, Runtime: "docker"}),
		l(4, "/run/d.sock", nil),
	})
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, _ := parseMetrics(t, buf.Bytes())
	want := map[string]float64{
		`udsls_listener_connections{container="web\\x1b[2J",netns="",path="/run/a.sock"}`:           0,
		`udsls_listener_connections{container="shop/billing-7f9c/api",netns="",path="/run/b.sock"}`: 0,
		`udsls_listener_connections{container="0123456789ab",netns="",path="/run/c.sock"}`:          0,
		`udsls_listener_connections{container="",netns="",path="/run/d.sock"}`:                      0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series (-want +got):\n%s\noutput:\n%s", diff, buf.Bytes())
	}
}

// TestMetricsListenerUnit: a listener served by a unit gets one info
// series naming the unit and the fd name, systemd's own holder of a
// socket-activated socket left aside; a listener of no unit gets none,
// and the other families keep their labels.
func TestMetricsListenerUnit(t *testing.T) {
	listen := func(id inspect.SocketID, p string) inspect.Socket {
		return inspect.Socket{ID: id, Type: inspect.TypeStream, State: inspect.StateListening, Path: p, Known: inspect.KnownNetns, Netns: 7}
	}
	entries := []inspect.Entry{
		{Socket: listen(1, "/run/api.sock"), SocketActivated: true, Holders: []inspect.Holder{
			{PID: 1, FD: 40, Command: "systemd", Known: true, Unit: "init.scope"},
			{PID: 500, FD: 3, Command: "app", Known: true, Unit: `my\x2dapp.service`, FDName: "api"},
		}},
		{Socket: listen(2, "/run/nginx.sock"), Holders: []inspect.Holder{
			{PID: 600, FD: 6, Command: "nginx", Known: true, Unit: "nginx.service"},
			{PID: 601, FD: 6, Command: "nginx", Known: true, Unit: "nginx.service", FDName: "web"},
		}},
		{Socket: listen(3, "/run/plain.sock"), Holders: []inspect.Holder{{PID: 700, FD: 3, Command: "x", Known: true}}},
		{Socket: listen(4, "/run/odd.sock"), Holders: []inspect.Holder{{PID: 800, FD: 3, Command: "y", Known: true, Unit: "a\x1b.service", FDName: "n\xff"}}},
	}
	m := NewMetrics()
	m.AddListing(&inspect.Snapshot{}, entries)
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, _ := parseMetrics(t, buf.Bytes())
	for k, want := range map[string]float64{
		`udsls_listener_unit_info{fd_name="api",netns="7",path="/run/api.sock",unit="my\\x2dapp.service"}`: 1,
		`udsls_listener_unit_info{fd_name="web",netns="7",path="/run/nginx.sock",unit="nginx.service"}`:    1,
		`udsls_listener_connections{container="",netns="7",path="/run/plain.sock"}`:                        0,
		`udsls_listener_unit_info{fd_name="n\\xff",netns="7",path="/run/odd.sock",unit="a\\x1b.service"}`:  1,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v\n%s", k, v, ok, want, buf.String())
		}
	}
	n := 0
	for k := range got {
		if strings.HasPrefix(k, "udsls_listener_unit_info") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d unit series, want 3:\n%s", n, buf.String())
	}
}
