package sys

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udsls/udsls/inspect"

	"golang.org/x/sys/unix"
)

// staleBenchTree makes 100 directories of 1000 entries each: 990 regular
// files and 10 stale sockets, 100k files and 1k sockets in all.
func staleBenchTree(b *testing.B) string {
	b.Helper()
	root := b.TempDir()
	for i := range 100 {
		dir := filepath.Join(root, fmt.Sprintf("d%02d", i/10), fmt.Sprintf("e%d", i%10))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for j := range 1000 {
			p := filepath.Join(dir, fmt.Sprintf("f%03d", j))
			if j%100 == 0 {
				fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
				if err != nil {
					b.Fatal(err)
				}
				err = unix.Bind(fd, &unix.SockaddrUnix{Name: p + ".sock"})
				unix.Close(fd)
				if err != nil {
					b.Fatal(err)
				}
				continue
			}
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	return root
}

// BenchmarkStaleWalk compares the walk with find -type s on the same tree,
// and measures a whole search, where each of the 1k sockets is probed.
func BenchmarkStaleWalk(b *testing.B) {
	root := staleBenchTree(b)
	const entries = 100*1000 + 110 // files, sockets and directories
	perSecond := func(b *testing.B) {
		b.ReportMetric(float64(entries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	}
	b.Run("walk", func(b *testing.B) {
		for b.Loop() {
			w, err := (&fileTree{}).Walk(context.Background(), []string{root}, inspect.WalkOptions{MaxDepth: 16})
			if err != nil {
				b.Fatal(err)
			}
			if len(w.Files) != 1000 {
				b.Fatalf("walk: %d sockets", len(w.Files))
			}
		}
		perSecond(b)
	})
	b.Run("find", func(b *testing.B) {
		if _, err := exec.LookPath("find"); err != nil {
			b.Skip("find is not installed")
		}
		for b.Loop() {
			out, err := exec.Command("find", root, "-xdev", "-type", "s").Output()
			if err != nil || strings.Count(string(out), "\n") != 1000 {
				b.Fatalf("find: %v, %d lines", err, strings.Count(string(out), "\n"))
			}
		}
		perSecond(b)
	})
	b.Run("search", func(b *testing.B) {
		for b.Loop() {
			rep, err := inspect.FindStale(context.Background(), &staticSource{}, NewResolver("/proc"),
				inspect.StaleOptions{Dirs: []string{root}, Explicit: true, MaxDepth: 16})
			if err != nil || len(rep.Stale) != 1000 {
				b.Fatalf("search: %v, %d stale", err, len(rep.Stale))
			}
		}
		perSecond(b)
	})
}
