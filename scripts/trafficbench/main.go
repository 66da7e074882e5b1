//go:build linux

// Command trafficbench serves scripts/traffic-overhead.sh: it measures
// the throughput of a ping-pong over a Unix socket pair with the traffic
// counter off and on, in alternating rounds, and prints each round's
// ratio.
//
// Two threads, each locked to its OS thread, bounce one message back and
// forth over blocking descriptors with plain read(2) and write(2): a
// round trip is two sends and two receives, each passing both tracepoints
// the counter hooks, and little else, so the counter's share of it is as
// large as it gets for messages of that size.
//
// Besides throughput it reports the CPU time the process spent per round
// trip by the two threads (user and system, from getrusage): other
// tenants of a shared machine move throughput a lot, and the CPU a trip
// costs much less.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform"
	"golang.org/x/sys/unix"
)

func main() {
	rounds := flag.Int("rounds", 8, "rounds, each one measurement off and one on, in alternating order")
	each := flag.Duration("time", 2*time.Second, "length of one measurement")
	size := flag.Int("size", 64, "message size in bytes")
	kind := flag.String("type", "stream", "socket type: stream, seqpacket or dgram")
	pin := flag.Int("cpu", -1, "run both threads on this CPU (default: where the scheduler puts them)")
	stats := flag.Bool("stats", false, "also time each run of the counting programs in the kernel (BPF_ENABLE_STATS), which slows them")
	flag.Parse()
	types := map[string]int{"stream": unix.SOCK_STREAM, "seqpacket": unix.SOCK_SEQPACKET, "dgram": unix.SOCK_DGRAM}
	typ, ok := types[*kind]
	if !ok || *rounds < 1 || *size < 1 || *each <= 0 {
		fmt.Fprintln(os.Stderr, "trafficbench: error: bad flags (see -help)")
		os.Exit(2)
	}
	var err error
	if *stats {
		err = progStats(*each, *size, typ, *pin)
	} else {
		err = run(*rounds, *each, *size, typ, *kind, *pin)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "trafficbench: error: %v\n", err)
		os.Exit(1)
	}
}

func run(rounds int, each time.Duration, size, typ int, kind string, cpu int) error {
	where := "unpinned"
	if cpu >= 0 {
		where = fmt.Sprintf("both threads on CPU %d", cpu)
	}
	fmt.Printf("%d-byte ping-pong over a %s socketpair (%s), %d rounds of %v off and %v on\n", size, kind, where, rounds, each, each)
	fmt.Printf("%-6s %13s %13s %7s %13s %13s %7s\n", "round", "off trips/s", "on trips/s", "on/off", "off CPU/trip", "on CPU/trip", "on/off")
	var speed, cost []float64
	for i := range rounds {
		// Alternating which goes first cancels a drift in the machine's
		// load, which another tenant may change at any time.
		var off, on result
		var err error
		if i%2 == 0 {
			if off, err = measure(each, size, typ, cpu, false, nil); err == nil {
				on, err = measure(each, size, typ, cpu, true, nil)
			}
		} else {
			if on, err = measure(each, size, typ, cpu, true, nil); err == nil {
				off, err = measure(each, size, typ, cpu, false, nil)
			}
		}
		if err != nil {
			return err
		}
		speed = append(speed, on.trips/off.trips)
		cost = append(cost, float64(on.cpu)/float64(off.cpu))
		fmt.Printf("%-6d %13.0f %13.0f %7.3f %13v %13v %7.3f\n", i+1, off.trips, on.trips, speed[i], off.cpu, on.cpu, cost[i])
	}
	fmt.Printf("throughput on/off: %s; the counter costs %.1f%% of throughput (median)\n", summary(speed), 100*(1-median(speed)))
	fmt.Printf("CPU per trip on/off: %s; the counter adds %.1f%% CPU per trip (median)\n", summary(cost), 100*(median(cost)-1))
	return nil
}

// progStats runs one measurement with the counter on and the kernel
// timing every program run, and prints how long the counting programs
// took per run: their own cost, without the tracepoints' calling them.
func progStats(d time.Duration, size, typ, cpu int) error {
	st, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		return fmt.Errorf("enable BPF stats: %w", err)
	}
	defer st.Close()
	before := map[ebpf.ProgramID]bool{}
	for id := range progIDs() {
		before[id] = true
	}
	r, err := measure(d, size, typ, cpu, true, func() error {
		for id := range progIDs() {
			if before[id] {
				continue
			}
			p, err := ebpf.NewProgramFromID(id)
			if err != nil {
				continue
			}
			info, err := p.Info()
			if err == nil && (info.Name == "udsls_sent" || info.Name == "udsls_received") {
				if st, err := p.Stats(); err == nil && st.RunCount > 0 {
					fmt.Printf("%-15s %10d runs, %6.1f ns per run\n", info.Name, st.RunCount, float64(st.Runtime.Nanoseconds())/float64(st.RunCount))
				}
			}
			p.Close()
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("with stats on: %.0f trips/s, %v CPU per trip\n", r.trips, r.cpu)
	return nil
}

// progIDs yields the ids of the programs loaded in the kernel.
func progIDs() func(func(ebpf.ProgramID) bool) {
	return func(yield func(ebpf.ProgramID) bool) {
		for id := ebpf.ProgramID(0); ; {
			next, err := ebpf.ProgramGetNextID(id)
			if err != nil || !yield(next) {
				return
			}
			id = next
		}
	}
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summary(xs []float64) string {
	return fmt.Sprintf("median %.3f, min %.3f, max %.3f", median(xs), slices.Min(xs), slices.Max(xs))
}

// result is one measurement: round trips per second, and the CPU time
// the process spent per round trip.
type result struct {
	trips float64
	cpu   time.Duration
}

// pinThread keeps the calling OS thread on cpu, unless cpu < 0.
func pinThread(cpu int) error {
	if cpu < 0 {
		return nil
	}
	var set unix.CPUSet
	set.Set(cpu)
	return unix.SchedSetaffinity(0, &set)
}

// threadCPU is the CPU time the calling thread has used; the garbage
// collector's work after loading the counter is not the counter's cost.
func threadCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_THREAD, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs round trips over a fresh socket pair for d, with the
// counter open if counting, and checks that it counted them.
// Before closing the counter it calls each, if not nil.
func measure(d time.Duration, size, typ, cpu int, counting bool, each func() error) (result, error) {
	var counter platform.TrafficCounter
	if counting {
		c, err := platform.OpenTraffic()
		if err != nil {
			return result{}, err
		}
		defer c.Close()
		counter = c
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return result{}, err
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])

	// Each side runs on a thread of its own, which ends with it, pinned
	// or not, since neither unlocks.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	var echoCPU time.Duration
	wg.Add(1)
	go func() { // the echo side: ends when the other side closes its end
		defer wg.Done()
		runtime.LockOSThread()
		if err := pinThread(cpu); err != nil {
			errs <- err
			return
		}
		buf := make([]byte, size)
		cpu0 := threadCPU()
		for {
			if err := readFull(fds[1], buf); err != nil {
				if !errors.Is(err, io.EOF) {
					errs <- err
				}
				echoCPU = threadCPU() - cpu0
				return
			}
			if err := writeFull(fds[1], buf); err != nil {
				errs <- err
				return
			}
		}
	}()
	var trips int64
	var elapsed, used time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Ending the echo side on every path keeps wg.Wait from hanging.
		defer func() {
			if typ != unix.SOCK_STREAM {
				// A datagram pair sees no end of file: a zero-length
				// datagram ends the echo side's read with 0, as EOF.
				unix.Write(fds[0], nil)
			}
			unix.Shutdown(fds[0], unix.SHUT_WR)
		}()
		runtime.LockOSThread()
		if err := pinThread(cpu); err != nil {
			errs <- err
			return
		}
		var stop atomic.Bool
		buf := make([]byte, size)
		time.AfterFunc(d, func() { stop.Store(true) })
		cpu0 := threadCPU()
		start := time.Now()
		for !stop.Load() {
			if err := writeFull(fds[0], buf); err != nil {
				errs <- err
				return
			}
			if err := readFull(fds[0], buf); err != nil {
				errs <- err
				return
			}
			trips++
		}
		elapsed = time.Since(start)
		used = threadCPU() - cpu0
	}()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return result{}, err
	}
	if counter != nil {
		if err := checkCounts(counter, fds, uint64(trips)*uint64(size)); err != nil {
			return result{}, err
		}
		if each != nil {
			if err := each(); err != nil {
				return result{}, err
			}
		}
	}
	return result{float64(trips) / elapsed.Seconds(), (used + echoCPU) / time.Duration(trips)}, nil
}

// checkCounts makes sure the counter saw every byte, so that a counter
// that skips its work cannot look cheap.
func checkCounts(c platform.TrafficCounter, fds [2]int, want uint64) error {
	counts, err := c.Counts()
	if err != nil {
		return err
	}
	for i, fd := range fds {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		got := counts[st.Ino]
		if got != (inspect.Traffic{SentBytes: want, ReceivedBytes: want}) {
			return fmt.Errorf("end %d counted %+v, want %d bytes each way", i, got, want)
		}
	}
	return nil
}

func readFull(fd int, buf []byte) error {
	for got := 0; got < len(buf); {
		n, err := unix.Read(fd, buf[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.EOF
		}
		got += n
	}
	return nil
}

func writeFull(fd int, buf []byte) error {
	for put := 0; put < len(buf); {
		n, err := unix.Write(fd, buf[put:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		put += n
	}
	return nil
}
