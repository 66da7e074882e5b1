package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform"
	"github.com/udsls/udsls/platform/sys"
)

// metricsPort is the exporter's port when --metrics-listen names none. The
// Prometheus wiki's list of exporter ports (9100-9999) is full; 9772 is
// udsls's by use, not by registration.
const metricsPort = "9772"

// How long a scraper's connection may stay idle between scrapes, and how
// long one scrape may take, from its request to the last byte of the reply
// (the snapshot included): Prometheus's scrape_timeout is at most its
// interval, which is rarely over a few minutes.
var (
	metricsIdleTimeout  = 5 * time.Minute
	metricsWriteTimeout = 5 * time.Minute
)

// metricsAddr makes a TCP address of --metrics-listen: PORT or :PORT listen
// on loopback, a host alone gets metricsPort. Reaching past loopback takes
// an address on purpose (0.0.0.0:9772, [::]:9772): the series name every
// socket path and holder on the machine.
func metricsAddr(s string) (string, error) {
	host, port := "", ""
	if _, err := strconv.Atoi(s); err == nil {
		port = s
	} else if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if inner, ok := strings.CutPrefix(s, "["); ok && strings.HasSuffix(inner, "]") && len(inner) > 1 {
		host, port = strings.TrimSuffix(inner, "]"), metricsPort
	} else if strings.ContainsAny(s, "[]") || strings.Count(s, ":") == 1 {
		return "", usagef("--metrics-listen %q: %v", s, err)
	} else {
		host, port = s, metricsPort // a host name or address, IPv6 ones too
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", usagef("--metrics-listen %q: port %q is not a number from 0 to 65535", s, port)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// runMetrics serves the listing's series, and those of --metrics-stale and
// --metrics-check, on /metrics until SIGINT or SIGTERM.
func runMetrics(ctx context.Context, o *options, e *env) (int, error) {
	addr, err := metricsAddr(o.metricsListen)
	if err != nil {
		return exitError, err
	}
	if o.metricsMinInterval < 0 {
		return exitError, usagef("--metrics-min-interval %s: must not be negative", o.metricsMinInterval)
	}
	// As --stale and --check judge them, or every scrape would fail.
	if o.maxDepth < 0 {
		return exitError, usagef("invalid --max-depth %d: must be 0 or more", o.maxDepth)
	}
	if o.timeout <= 0 {
		return exitError, usagef("--timeout %s: must be positive", o.timeout)
	}
	q, err := listQuery(o)
	if err != nil {
		return exitError, err
	}
	containerNetns(o)
	// The sources live as long as the exporter, and keep the BPF
	// iterator loaded from one scrape to the next: loading it, kernel BTF
	// included, was a seventh of a scrape's CPU at 10k sockets. The
	// listing's and the stale search's share one (o.sharedKept).
	var s scrapeSources
	defer s.close()
	if s.list, err = newSource(o); err != nil {
		return exitError, err
	}
	// A bad --netns ends the run before it serves, as it ends a listing;
	// one that goes away later (a stopped container) fails only the
	// scrapes while it is gone, since it may come back.
	if o.netns != "" {
		if _, err := platform.NetnsInode(netnsOptions(o)); err != nil {
			return exitError, err
		}
	}
	if len(o.metricsStale) > 0 {
		// The namespace's file tree is looked up here too, and on each
		// scrape.
		if s.stale, _, err = staleSource(o); err != nil {
			return exitError, err
		}
		if _, err = staleRoot(o); err != nil {
			return exitError, err
		}
		s.staleOpts = inspect.StaleOptions{Dirs: o.metricsStale, Explicit: true, MaxDepth: o.maxDepth}
	}
	x := newExporter(ctx, o.metricsMinInterval, func(ctx context.Context) (*render.Metrics, error) {
		return scrapeOnce(ctx, o, q, &s)
	})
	// Logged under the exporter's lock: one scrape at a time writes.
	x.log = e.stderr.error
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return exitError, fmt.Errorf("--metrics-listen: %w", err)
	}
	srv := &http.Server{
		Handler:           x.mux(),
		ReadHeaderTimeout: 10 * time.Second,
		// Without these a client that keeps its connection open after a
		// scrape, or stops reading a reply, holds a descriptor and a
		// goroutine for as long as udsls runs; enough of them and the
		// snapshots fail for want of descriptors.
		IdleTimeout:  metricsIdleTimeout,
		WriteTimeout: metricsWriteTimeout,
		BaseContext:  func(net.Listener) context.Context { return ctx },
	}
	e.note("serving metrics on http://%s/metrics", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return exitError, err
	case <-ctx.Done():
	}
	// Scrapes under way may finish; the process exits within
	// forceExitAfter anyway.
	sctx, cancel := context.WithTimeout(context.Background(), forceExitAfter*3/4)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return exitError, err
	}
	return exitOK, nil
}

// scrapeSources are what the scrapes read: the listing's source, and the
// stale-file search's when --metrics-stale asks for one.
type scrapeSources struct {
	list, stale inspect.Source
	staleOpts   inspect.StaleOptions
}

func (s *scrapeSources) close() {
	for _, src := range []inspect.Source{s.list, s.stale} {
		if c, ok := src.(io.Closer); ok {
			c.Close()
		}
	}
}

// scrapeOnce takes a snapshot and gathers what a scrape shows.
func scrapeOnce(ctx context.Context, o *options, q inspect.Query, s *scrapeSources) (*render.Metrics, error) {
	snap, err := s.list.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	m := render.NewMetrics()
	m.AddListing(snap, newResolver(o, s.list).Entries(ctx, snap, q))
	if s.stale != nil {
		// --netns names the namespace by a file or a pid, which a restarted
		// container points at a new one: the listing follows it from one
		// snapshot to the next, and the unreachable listeners must too.
		so := s.staleOpts
		if so.Netns, err = staleNetns(o); err != nil {
			return nil, err
		}
		if so.Root, err = staleRoot(o); err != nil {
			return nil, err
		}
		rep, err := inspect.FindStale(ctx, s.stale, newResolver(o, s.stale), so)
		if err != nil {
			return nil, err
		}
		m.AddStale(rep)
	}
	if len(o.metricsCheck) > 0 {
		c := inspect.NewChecker(sys.NewResolver(o.procRoot))
		c.Timeout = o.timeout
		m.AddChecks(c.Wait(ctx, o.metricsCheck, 0))
	}
	return m, ctx.Err()
}

// exporter serves scrapes one at a time from a snapshot at most minInterval
// old: a burst of scrapers on a large host costs one snapshot.
type exporter struct {
	ctx         context.Context // the run's: a signal ends a snapshot under way
	minInterval time.Duration
	collect     func(context.Context) (*render.Metrics, error)
	log         func(error)

	mu       sync.Mutex
	at       time.Time
	families []*dto.MetricFamily

	reg       *prometheus.Registry
	duration  prometheus.Gauge
	snapshots prometheus.Counter
	failures  prometheus.Counter
}

func newExporter(ctx context.Context, minInterval time.Duration, collect func(context.Context) (*render.Metrics, error)) *exporter {
	x := &exporter{ctx: ctx, minInterval: minInterval, collect: collect, log: func(error) {}, reg: prometheus.NewRegistry()}
	x.duration = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "udsls_scrape_duration_seconds",
		Help: "How long the last snapshot of the sockets, and the stale and check scans, took.",
	})
	x.snapshots = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "udsls_scrape_snapshots_total",
		Help: "Snapshots taken for scrapes; a scrape within --metrics-min-interval of the last reuses it.",
	})
	x.failures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "udsls_scrape_errors_total",
		Help: "Snapshots that failed; the scrape that asked for one got an HTTP 500.",
	})
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "udsls_build_info",
		Help:        "The udsls binary serving these series: always 1.",
		ConstLabels: prometheus.Labels{"version": version(), "goversion": runtime.Version()},
	})
	info.Set(1)
	x.reg.MustRegister(x.duration, x.snapshots, x.failures, info)
	return x
}

// Gather returns the socket series: the last ones when younger than
// minInterval, else new ones. Concurrent scrapes wait for each other, so
// that those arriving together share one snapshot.
func (x *exporter) Gather() ([]*dto.MetricFamily, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.families != nil && time.Since(x.at) < x.minInterval {
		return x.families, nil
	}
	t0 := time.Now()
	x.snapshots.Inc()
	fams, err := x.snapshot(x.ctx)
	x.duration.Set(time.Since(t0).Seconds())
	if err != nil {
		// A snapshot that the exporter's stop cut short did not fail: a
		// service manager's routine stop logged an error for each scrape
		// under way or waiting.
		if x.ctx.Err() == nil {
			x.failures.Inc()
			x.log(fmt.Errorf("scrape: %w", err))
		}
		return nil, err
	}
	x.families, x.at = fams, time.Now()
	return fams, nil
}

// snapshot collects the series and hands them to client_golang as the
// families -o prometheus writes, so that the two cannot differ.
func (x *exporter) snapshot(ctx context.Context) ([]*dto.MetricFamily, error) {
	m, err := x.collect(ctx)
	if err != nil {
		return nil, err
	}
	fams, err := m.Families()
	if err != nil {
		return nil, err
	}
	out := make([]*dto.MetricFamily, len(fams))
	for i, f := range fams {
		mf := &dto.MetricFamily{Name: &f.Name, Help: &f.Help, Type: dto.MetricType_GAUGE.Enum(), Metric: make([]*dto.Metric, len(f.Series))}
		// One allocation for all the family's label pairs, one for its
		// gauges and one for its metrics: at 10k sockets a family has
		// thousands of series.
		pairs := make([]dto.LabelPair, len(f.Series)*len(f.Labels))
		gauges := make([]dto.Gauge, len(f.Series))
		metrics := make([]dto.Metric, len(f.Series))
		for j := range f.Series {
			s := &f.Series[j]
			m := &metrics[j]
			m.Label = make([]*dto.LabelPair, len(f.Labels))
			for k := range f.Labels {
				p := &pairs[j*len(f.Labels)+k]
				p.Name, p.Value = &f.Labels[k], &s.Values[k]
				m.Label[k] = p
			}
			gauges[j].Value = &s.Value
			m.Gauge = &gauges[j]
			mf.Metric[j] = m
		}
		out[i] = mf
	}
	return out, nil
}

func (x *exporter) mux() *http.ServeMux {
	mux := http.NewServeMux()
	// The registry's series are gathered after the sockets', so that
	// udsls_scrape_duration_seconds tells of this scrape's snapshot.
	mux.Handle("GET /metrics", promhttp.HandlerFor(prometheus.Gatherers{x, x.reg}, promhttp.HandlerOpts{
		// A burst waits for the snapshot under way rather than being
		// turned away: there is no MaxRequestsInFlight.
		ErrorHandling: promhttp.HTTPErrorOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("udsls exporter: see /metrics and /healthz\n"))
	})
	return mux
}
