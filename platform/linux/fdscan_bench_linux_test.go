package linux

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// spreadSockets makes procs child processes that hold perProc sockets each
// (socketpairs passed as inherited descriptors), the shape of a real
// machine where many processes hold a few sockets.
func spreadSockets(b *testing.B, procs, perProc int) {
	b.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		b.Skip("sleep is not installed")
	}
	for range procs {
		var files []*os.File
		for range perProc / 2 {
			pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				b.Fatal(err)
			}
			files = append(files, os.NewFile(uintptr(pair[0]), "a"), os.NewFile(uintptr(pair[1]), "b"))
		}
		cmd := exec.Command(sleep, "3600")
		cmd.ExtraFiles = files
		err := cmd.Start()
		for _, f := range files {
			f.Close() // the child has them now
		}
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
}

// BenchmarkScanFDsSpread walks /proc with 10k sockets held by 16
// processes.
func BenchmarkScanFDsSpread(b *testing.B) {
	const procs, perProc = 16, 640
	spreadSockets(b, procs, perProc)
	ctx := context.Background()
	b.ReportAllocs()
	var n int
	for b.Loop() {
		scan, err := scanFDs(ctx, "/proc")
		if err != nil {
			b.Fatal(err)
		}
		n = len(scan.owners)
	}
	if n < procs*perProc {
		b.Fatalf("found %d sockets, want at least %d", n, procs*perProc)
	}
	b.ReportMetric(float64(n), "sockets/op")
}
