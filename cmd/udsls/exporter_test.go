package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
)

func TestMetricsAddr(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"9100", "127.0.0.1:9100"},
		{":9100", "127.0.0.1:9100"},
		{"localhost", "localhost:9772"},
		{"0.0.0.0", "0.0.0.0:9772"},
		{"0.0.0.0:80", "0.0.0.0:80"},
		{"::1", "[::1]:9772"},
		{"[::]:9100", "[::]:9100"},
		{"[::1]", "[::1]:9772"},
		{":0", "127.0.0.1:0"},
	} {
		got, err := metricsAddr(c.in)
		if err != nil || got != c.want {
			t.Errorf("metricsAddr(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{":http", "host:99999", "host:-1", "[::1", "x:", "[]", ":"} {
		if got, err := metricsAddr(bad); err == nil || !errors.Is(err, errUsage) {
			t.Errorf("metricsAddr(%q) = %q, %v; want a usage error", bad, got, err)
		}
	}
}

// TestExporterSharesSnapshots: scrapes arriving together, and scrapes within
// the minimum interval, cost one snapshot; past it, a new one is taken.
func TestExporterSharesSnapshots(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	snapshots := func() int {
		mu.Lock()
		defer mu.Unlock()
		return calls
	}
	release := make(chan struct{})
	x := newExporter(context.Background(), time.Hour, func(context.Context) (*render.Metrics, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		<-release // every scraper arrives while the first snapshot is under way
		return render.NewMetrics(), nil
	})
	srv := httptest.NewServer(x.mux())
	defer srv.Close()

	var wg sync.WaitGroup
	const scrapers = 12
	bodies := make([]string, scrapers)
	for i := range scrapers {
		wg.Go(func() { bodies[i] = get(t, srv.URL+"/metrics") })
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := snapshots(); n != 1 {
		t.Fatalf("%d concurrent scrapes took %d snapshots, want 1", scrapers, n)
	}
	for _, b := range bodies {
		if !strings.Contains(b, "udsls_scrape_snapshots_total 1\n") {
			t.Fatalf("scrape does not count one snapshot:\n%s", b)
		}
	}

	x.minInterval = 0
	get(t, srv.URL+"/metrics")
	if n := snapshots(); n != 2 {
		t.Fatalf("a scrape past --metrics-min-interval took no snapshot (%d)", n)
	}
}

// TestExporterFailedSnapshot: a failed snapshot is a 500 and counted, never
// stale series passed off as new ones.
func TestExporterFailedSnapshot(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	x := newExporter(context.Background(), 0, func(context.Context) (*render.Metrics, error) {
		if fail.Load() {
			return nil, errors.New("netlink: no buffer space")
		}
		return render.NewMetrics(), nil
	})
	var logged atomic.Int32
	x.log = func(error) { logged.Add(1) }
	srv := httptest.NewServer(x.mux())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 || logged.Load() != 1 {
		t.Fatalf("status %d, %d logged; want 500 and the error logged once", resp.StatusCode, logged.Load())
	}
	fail.Store(false)
	b := get(t, srv.URL+"/metrics")
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader([]byte(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got := fams["udsls_scrape_errors_total"].GetMetric()[0].GetCounter().GetValue(); got != 1 {
		t.Fatalf("udsls_scrape_errors_total = %v, want 1", got)
	}
	if got := get(t, srv.URL+"/healthz"); got != "ok\n" {
		t.Fatalf("/healthz = %q", got)
	}
}

// TestExporterStopIsNoFailure: scrapes under way or waiting when a signal
// stops the exporter get a 500, having no snapshot, but the stop is not
// logged as a failed snapshot of each.
func TestExporterStopIsNoFailure(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	x := newExporter(ctx, 0, func(ctx context.Context) (*render.Metrics, error) {
		stop() // the signal comes while the snapshot runs
		<-ctx.Done()
		return nil, fmt.Errorf("netlink: %w", ctx.Err())
	})
	var logged atomic.Int32
	x.log = func(err error) { logged.Add(1); t.Logf("logged: %v", err) }
	srv := httptest.NewServer(x.mux())
	defer srv.Close()
	for range 3 {
		resp, err := srv.Client().Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 500 {
			t.Errorf("status %d during the stop, want 500", resp.StatusCode)
		}
	}
	if logged.Load() != 0 {
		t.Errorf("%d errors logged for scrapes the stop cut short, want none", logged.Load())
	}
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("GET %s: %d %v\n%s", url, resp.StatusCode, err, b)
	}
	return string(b)
}

// TestExporterBadWalkAndTimeout: --max-depth and --timeout, which the
// exporter takes for --metrics-stale and --metrics-check, are judged as
// --stale and --check judge them, before anything is served.
func TestExporterBadWalkAndTimeout(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--metrics-stale", t.TempDir(), "--max-depth", "-1"}, "udsls: error: invalid --max-depth -1: must be 0 or more\n"},
		{[]string{"--metrics-check", "/run/x.sock", "--timeout", "0s"}, "udsls: error: --timeout 0s: must be positive\n"},
	} {
		var out, errw bytes.Buffer
		args := append([]string{"--metrics-listen", "127.0.0.1:0"}, c.args...)
		// Bounded so that an exporter that starts serving ends the test.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		code := run(ctx, args, &out, &errw)
		cancel()
		if code != exitError || !strings.HasPrefix(errw.String(), c.want) || out.Len() != 0 {
			t.Errorf("udsls %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", args, code, out.String(), errw.String(), c.want)
		}
	}
}

// TestExporterServesWhatPrometheusOutputWrites: the socket series of a
// scrape are, byte for byte, what -o prometheus writes for the same
// listing, hostile names included; only the exporter's own families are
// added.
func TestExporterServesWhatPrometheusOutputWrites(t *testing.T) {
	snap := &inspect.Snapshot{}
	var entries []inspect.Entry
	for i, p := range []string{"/run/a.sock", "/run/q\"uo\\te\n.sock", "/run/\xff\x1b[31m.sock", "abstract\x00name", "/run/é.sock"} {
		s := inspect.Socket{ID: inspect.SocketID(i + 1), Type: inspect.TypeStream, State: inspect.StateListening, Path: p,
			Abstract: strings.HasPrefix(p, "abstract"), Known: inspect.KnownQueues | inspect.KnownNetns, Netns: 4026531840, RecvQueue: uint32(i), SendQueue: 128}
		snap.Sockets = append(snap.Sockets, s)
		entries = append(entries, inspect.Entry{Socket: s, Connections: i * 1000})
	}
	fill := func(m *render.Metrics) {
		m.AddListing(snap, entries)
		m.AddChecks([]inspect.CheckResult{{Path: "/run/a.sock"}, {Path: "/run/\"c\"\\\n.sock"}})
		m.AddStale(&inspect.StaleReport{Dirs: []string{"/tmp", "/run/x"}, Sockets: 5, Unchecked: 1})
	}
	want := render.NewMetrics()
	fill(want)
	var text bytes.Buffer
	if err := want.Write(&text); err != nil {
		t.Fatal(err)
	}

	x := newExporter(context.Background(), 0, func(context.Context) (*render.Metrics, error) {
		m := render.NewMetrics()
		fill(m)
		return m, nil
	})
	srv := httptest.NewServer(x.mux())
	defer srv.Close()
	var got strings.Builder
	for block := range strings.SplitAfterSeq(get(t, srv.URL+"/metrics"), "\n# HELP ") {
		// The exporter's own families, of the registry, are left out.
		name := strings.TrimPrefix(block, "# HELP ")
		if !strings.HasPrefix(name, "udsls_build_info ") && !strings.HasPrefix(name, "udsls_scrape_") {
			got.WriteString(block)
		}
	}
	g := strings.TrimSuffix(got.String(), "\n# HELP ")
	if !strings.HasPrefix(g, "# HELP ") {
		g = "# HELP " + g
	}
	if g != text.String() {
		t.Errorf("the exporter served\n%s\n-o prometheus writes\n%s", g, text.String())
	}
}
