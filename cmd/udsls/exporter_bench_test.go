package main

import (
	"context"
	"io"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
)

// BenchmarkExporterScrape: one scrape of /metrics past the minimum interval,
// from series already gathered (those of 10k sockets: 3,334 listeners) to
// the last byte of the text reply, so that what it measures is the
// exporter's own work, apart from the snapshot's.
func BenchmarkExporterScrape(b *testing.B) {
	const listeners = 3334
	entries := make([]inspect.Entry, listeners)
	for i := range entries {
		entries[i] = inspect.Entry{Socket: inspect.Socket{
			ID: inspect.SocketID(i + 1), Path: "/run/udsls-bench/set-" + strconv.Itoa(i) + ".sock", State: inspect.StateListening,
			Known: inspect.KnownQueues | inspect.KnownNetns, Netns: 4026531840, RecvQueue: uint32(i % 5), SendQueue: 4096,
		}, Connections: 1}
	}
	snap := &inspect.Snapshot{}
	for i := range entries {
		snap.Sockets = append(snap.Sockets, entries[i].Socket)
	}
	x := newExporter(context.Background(), 0, func(context.Context) (*render.Metrics, error) {
		m := render.NewMetrics()
		m.AddListing(snap, entries)
		return m, nil
	})
	h := x.mux()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
		io.Copy(io.Discard, rec.Body)
	}
}
