package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform"
	"github.com/udsls/udsls/platform/linux"
)

// newSource picks where sockets come from: saved captures when --from is
// given, otherwise the live backend of this operating system.
func newSource(o *options) (inspect.Source, error) {
	if err := netnsUsage(o); err != nil {
		return nil, err
	}
	if len(o.from) > 0 {
		return platform.FromCaptures(o.from)
	}
	src, err := platform.Default(platform.Options{ProcRoot: o.procRoot, Source: o.source, AllNetns: o.allNetns, Netns: o.netns, FDSource: o.fdSource, Kept: o.sharedKept()})
	if err != nil || o.verboseOut == nil {
		return src, err
	}
	return &verboseSource{src, o.verboseOut}, nil
}

// verboseSource says, with --verbose, where a snapshot came from.
type verboseSource struct {
	inspect.Source
	w *stderr
}

// Close closes the source when it has something to close (what a watch keeps loaded).
func (v *verboseSource) Close() error {
	if c, ok := v.Source.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

func (v *verboseSource) Snapshot(ctx context.Context) (*inspect.Snapshot, error) {
	t0 := time.Now()
	snap, err := v.Source.Snapshot(ctx)
	if err == nil {
		v.w.say("info", fmt.Sprintf("%d sockets from %s, %d holders from %s, in %v",
			len(snap.Sockets), snap.Backend, len(snap.Owners), cmp.Or(snap.FDSource, snap.Backend), time.Since(t0).Round(time.Millisecond)))
	}
	return snap, err
}

// keeps says whether this run takes snapshot after snapshot, and so keeps
// what they can share loaded (the BPF iterator) until its sources close.
func (o *options) keeps() bool { return o.mode == modeWatch || o.metricsListen != "" }

// sharedKept is what the run's sources keep loaded, one for all of them,
// or nil when the run does not keep things loaded: each iterator is
// kernel memory and BTF loaded for as long as the exporter runs.
func (o *options) sharedKept() *linux.Kept {
	if o.keeps() && o.kept == nil {
		o.kept = &linux.Kept{}
	}
	return o.kept
}
