package main

import (
	"context"
	"strconv"

	"github.com/udsls/udsls/inspect"
)

func listQuery(o *options) (inspect.Query, error) {
	q := inspect.Query{Patterns: o.args, PIDs: o.pids, Users: o.users, Clients: o.peers}
	switch {
	case o.all:
		q.View = inspect.ViewAll
	case o.listening:
		q.View = inspect.ViewListening
	}
	for _, p := range o.args {
		if err := inspect.ValidatePattern(p); err != nil {
			return q, usagef("%v", err)
		}
	}
	for _, p := range o.pids {
		if p <= 0 {
			return q, usagef("invalid --pid %s: must be a positive process id", strconv.Itoa(p))
		}
	}
	for _, s := range o.types {
		t, err := inspect.ParseType(s)
		if err != nil {
			return q, usagef("--type: %v", err)
		}
		q.Types = append(q.Types, t)
	}
	return q, nil
}

func runList(ctx context.Context, o *options, e *env) (int, error) {
	q, err := listQuery(o)
	if err != nil {
		return exitError, err
	}
	src, err := newSource(o)
	if err != nil {
		return exitError, err
	}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		return exitError, err
	}
	r := newResolver(o, src)
	if len(o.from) > 0 {
		r = inspect.NewCaptureResolver()
	}

	for _, w := range snap.Warnings {
		e.warn("%s", w)
	}
	shown := 0
	switch o.output {
	case "json":
		// Each entry is written as it is made: a large listing is never
		// held whole, and the output starts before the join ends.
		jw := inspect.NewJSONWriter(e.stdout)
		err = r.EachEntry(ctx, snap, q, func(en *inspect.Entry) error {
			shown++
			return jw.Write(en)
		})
		if err == nil {
			err = jw.Close(snap.Warnings)
		}
	case "prometheus":
		entries := r.Entries(ctx, snap, q)
		if err := ctx.Err(); err != nil {
			return exitError, err
		}
		shown = len(entries)
		m := inspect.NewMetrics()
		m.AddListing(snap, entries)
		err = writeOutput(o, e, m.Write)
	default:
		entries := r.Entries(ctx, snap, q)
		if err := ctx.Err(); err != nil {
			return exitError, err
		}
		shown = len(entries)
		err = interruptible(ctx, e, func() error {
			return inspect.WriteTable(e.stdout, entries, inspect.TableOptions{Color: e.color, Peers: o.peers || o.all})
		})
	}
	if err != nil {
		return exitError, err
	}
	if q.Filtered() && shown == 0 {
		return exitNo, nil
	}
	return exitOK, nil
}
