package linux

import (
	"context"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkFDSources finds the holders of n sockets, 200 a process, with
// the /proc walk and with the BPF iterator (load, attach, run, close): the
// sizes where one overtakes the other set bpfMinFiles. Whatever else runs
// on the machine is counted by both.
func BenchmarkFDSources(b *testing.B) {
	for _, n := range []int{0, 1000, 3000, 10000, 30000} {
		b.Run(fmt.Sprintf("sockets=%d", n), func(b *testing.B) {
			if n > 0 {
				spreadSockets(b, n/200, 200)
			}
			files, _ := openFiles("/proc")
			for _, src := range []FDSource{FDsProcfs, FDsBPF} {
				b.Run(src.String(), func(b *testing.B) {
					if src == FDsBPF {
						if _, err := scanBPF(context.Background()); err != nil {
							b.Skip(err)
						}
					}
					s := &Source{FDs: src}
					var found int
					cpu0 := cpuTime()
					for b.Loop() {
						scan, err := s.scanHolders(context.Background(), "/proc")
						if err != nil {
							b.Fatal(err)
						}
						found = len(scan.owners)
					}
					// CPU time, unlike wall time, does not count the
					// time other processes of a busy machine take.
					b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
					b.ReportMetric(float64(found), "holders/op")
					b.ReportMetric(float64(files), "files")
				})
			}
		})
	}
}

// cpuTime is the CPU time this process has used, in user and kernel mode.
func cpuTime() int64 {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
