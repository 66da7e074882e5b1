package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/udsls/udsls/cmd/udsls/internal/liveview"
	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform"
)

// openTraffic starts the traffic counter; tests replace it with a fake.
var openTraffic = defaultOpenTraffic

func defaultOpenTraffic() (trafficCounter, error) { return platform.OpenTraffic() }

type trafficCounter = platform.TrafficCounter

// refresher takes the snapshots of a watch. One resolver serves every
// refresh, so that a holder's command, user, container and mount
// namespace are looked up once per process rather than once per refresh.
type refresher struct {
	mu      sync.Mutex
	src     inspect.Source
	r       *inspect.Resolver
	q       inspect.Query
	all     bool // the view shows every socket, whatever q says
	counter trafficCounter
	// noTraffic says why traffic is not counted, "" when it is;
	// trafficFailed that the counter failed after the watch began.
	noTraffic     string
	trafficFailed bool
	w             inspect.Watcher
}

// refresh takes one snapshot and joins it into a frame. A change of view
// starts the marking of changes afresh.
func (rf *refresher) refresh(ctx context.Context, all bool) (*inspect.Frame, []inspect.Entry, error) {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	if all != rf.all {
		rf.all = all
		rf.w.Reset()
	}
	snap, err := rf.src.Snapshot(ctx)
	if err != nil {
		return nil, nil, err
	}
	t := time.Now()
	rf.r.Prune(snap)
	q := rf.q
	if all {
		q.View = inspect.ViewAll
	}
	entries := rf.r.Entries(ctx, snap, q)
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if rf.counter != nil {
		counts, err := rf.counter.Counts()
		if err != nil {
			// A counter that failed once is not trusted again.
			rf.noTraffic, rf.trafficFailed = err.Error(), true
			rf.counter.Close()
			rf.counter = nil
		} else {
			inspect.AddTraffic(snap, entries, counts)
		}
	}
	f := rf.w.Next(t, snap, entries)
	if rf.trafficFailed {
		// Said where a failure at the start is: in each line and the header.
		f.Warnings = slices.Concat(f.Warnings, []string{"traffic is no longer counted: " + rf.noTraffic})
	}
	return f, entries, nil
}

func newRefresher(o *options) (*refresher, error) {
	q, err := listQuery(o)
	if err != nil {
		return nil, err
	}
	containerNetns(o)
	src, err := newSource(o)
	if err != nil {
		return nil, err
	}
	rf := &refresher{src: src, r: newResolver(o, src), q: q}
	// -a is where the view starts; the a key goes back and forth from the
	// view the other flags ask for.
	if q.View == inspect.ViewAll {
		rf.q.View, rf.all = inspect.ViewDefault, true
	}
	return rf, nil
}

func runWatch(ctx context.Context, o *options, e *env) (int, error) {
	rf, err := newRefresher(o)
	if err != nil {
		return exitError, err
	}
	// Counting costs the traffic it counts: it runs only while a watch does.
	if rf.counter, err = openTraffic(); err != nil {
		rf.counter, rf.noTraffic = nil, err.Error()
	}
	defer func() {
		if rf.counter != nil {
			rf.counter.Close()
		}
		if c, ok := rf.src.(io.Closer); ok {
			c.Close()
		}
	}()
	if e.term != nil && o.output == "table" && os.Getenv("TERM") != "dumb" {
		// Keys come from the terminal: stdin may be a file or /dev/null
		// (`udsls --watch < /dev/null`), which the view cannot wait on.
		if isTerminal(os.Stdin) {
			return runWatchView(ctx, o, e, rf, os.Stdin)
		}
		if tty, err := os.Open("/dev/tty"); err == nil {
			defer tty.Close()
			return runWatchView(ctx, o, e, rf, tty)
		}
		// No terminal to read keys from (setsid, a service with its
		// output on a console): nothing but a kill would end a view, and
		// a killed view leaves the screen in its alternate buffer. Refreshes
		// are printed as to a pipe instead, as they are for a dumb terminal,
		// which cannot draw a view.
	}
	return runWatchLines(ctx, o, e, rf)
}

// runWatchLines prints a refresh at a time to a pipe or file: a JSON line
// with -o json, else a table under a line with the time.
func runWatchLines(ctx context.Context, o *options, e *env, rf *refresher) (int, error) {
	if o.output == "json" && rf.noTraffic != "" {
		e.note("traffic is not counted (null): %s", rf.noTraffic)
	}
	var end <-chan time.Time
	if o.serveFor > 0 {
		t := time.NewTimer(o.serveFor)
		defer t.Stop()
		end = t.C
	}
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	warned := map[string]bool{}
	for {
		f, entries, err := rf.refresh(ctx, rf.all)
		if err != nil {
			if ctx.Err() != nil {
				return exitOK, nil // run says how it was interrupted
			}
			return exitError, err
		}
		if o.output == "json" {
			err = render.WriteWatchLine(e.stdout, f.Time, entries, f.Warnings)
		} else {
			// A table's reader sees each warning once, not once a refresh.
			for _, w := range f.Warnings {
				if !warned[w] {
					warned[w] = true
					e.warn("%s", w)
				}
			}
			err = writeWatchTable(o, e, f, entries)
		}
		if err != nil {
			return exitError, err
		}
		select {
		case <-ctx.Done():
			return exitOK, nil
		case <-end:
			return exitOK, nil
		case <-tick.C:
		}
	}
}

func writeWatchTable(o *options, e *env, f *inspect.Frame, entries []inspect.Entry) error {
	if _, err := fmt.Fprintf(e.stdout, "# %s  %d shown\n", f.Time.UTC().Format(render.WatchTime), len(entries)); err != nil {
		return err
	}
	if len(entries) > 0 {
		to := render.TableOptions{Color: e.color, Peers: o.peers, Extended: o.extended}
		if !o.wide {
			to.Width = e.width
		}
		if err := render.WriteTable(e.stdout, entries, to); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(e.stdout)
	return err
}

// runWatchView runs the full-screen view on the terminal.
// Keys are read from in, the terminal.
func runWatchView(ctx context.Context, o *options, e *env, rf *refresher, in *os.File) (int, error) {
	var cannot []string
	if rf.noTraffic != "" {
		cannot = append(cannot, "traffic ("+rf.noTraffic+")")
	}
	if os.Geteuid() != 0 {
		cannot = append(cannot, "other users' processes (not root)")
	}
	cfg := liveview.Config{
		Refresh: func(ctx context.Context, all bool) (*inspect.Frame, error) {
			f, _, err := rf.refresh(ctx, all)
			return f, err
		},
		Interval: o.interval,
		For:      o.serveFor,
		All:      rf.all,
		Cannot:   cannot,
		Color:    e.color,
	}
	// What is said on stderr meanwhile (-v) waits for the view to end.
	release := e.stderr.hold()
	err := liveview.Run(ctx, cfg, in, e.term)
	release()
	if err != nil {
		if ctx.Err() != nil {
			return exitOK, nil
		}
		return exitError, err
	}
	return exitOK, nil
}
