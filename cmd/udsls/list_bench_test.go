//go:build linux

package main

import (
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/udsls/udsls/platform/testserver"
)

// BenchmarkList runs whole listings, flags to output, on 10k live sockets
// of this process (scripts/bench.sh spreads them over processes and
// compares with ss). Profile with
//
//	go test -run '^$' -bench List -cpuprofile cpu.out ./cmd/udsls
func BenchmarkList(b *testing.B) {
	srv, err := testserver.Start(testserver.Config{Dir: b.TempDir() + "/s", Count: 3333})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	m := srv.Manifest()
	var setPath string
	for _, s := range m.Sockets {
		if s.Role == testserver.RoleSetListener {
			setPath = s.Path
			break
		}
	}
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"all-json", []string{"-a", "-o", "json"}},
		{"all-table", []string{"-a"}},
		{"default", nil},
		{"pid", []string{"-p", strconv.Itoa(m.PID)}},
		{"path", []string{setPath}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if code := run(context.Background(), bc.args, io.Discard, io.Discard); code != exitOK {
					b.Fatalf("udsls %q: exit %d", bc.args, code)
				}
			}
		})
	}
}
