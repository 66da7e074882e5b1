//go:build linux

package main

import (
	"context"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform/testserver"
)

// BenchmarkWatchRefresh is one refresh of udsls --watch on 10k live
// sockets of this process: snapshot, join, changes, and the JSON line.
// cpu-%@1s is the CPU time (user+system, every thread) a refresh takes,
// as a share of one CPU at the default interval of 1s; the goal is 10.
//
//	go test -run '^$' -bench WatchRefresh ./cmd/udsls
func BenchmarkWatchRefresh(b *testing.B) {
	srv, err := testserver.Start(testserver.Config{Dir: b.TempDir() + "/s", Count: 3333})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	for _, bc := range []struct {
		name string
		args []string
		all  bool
	}{
		{"default", []string{"--watch"}, false},
		{"all", []string{"--watch", "-a"}, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			o, err := parseFlags(append(bc.args, "-o", "json"))
			if err != nil {
				b.Fatal(err)
			}
			rf, err := newRefresher(o)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { rf.src.(io.Closer).Close() })
			ctx := context.Background()
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				f, entries, err := rf.refresh(ctx, rf.all)
				if err != nil {
					b.Fatal(err)
				}
				if err := render.WriteWatchLine(io.Discard, f.Time, entries, f.Warnings); err != nil {
					b.Fatal(err)
				}
			}
			perRefresh := (cpuTime(b) - cpu0) / time.Duration(b.N)
			b.ReportMetric(float64(perRefresh)/float64(time.Millisecond), "cpu-ms/op")
			b.ReportMetric(100*perRefresh.Seconds()/1, "cpu-%@1s")
		})
	}
}

// cpuTime is the CPU time this process has used, every thread.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
