//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/udsls/udsls/inspect"
)

// trafficRecordSize is sizeof(struct traffic_record) in traffic.c.
const trafficRecordSize = 24

// Traffic counts the bytes every AF_UNIX socket sends and receives, from
// OpenTraffic to Close.
//
// Received bytes are counted where they are read (sock_recv_length), not
// credited to the sender's peer: a datagram sent with sendto(2) to a
// bound socket is not sent to the sender's peer (it has none), and a
// stream's peer may be closed while its bytes are still queued. So a
// socket's received count is what its owners read, peeks excepted;
// bytes still in its receive queue are not in it yet, and the tail of a
// datagram cut short by a small buffer without MSG_TRUNC is never in it.
// Bytes read with splice(2) from a socket bypass recvmsg and are not
// counted.
type Traffic struct {
	mu    sync.Mutex
	objs  *trafficObjects
	links []link.Link
	iter  *link.Iter
	// Kept from one Counts to the next, which a watch calls every second.
	buf    []byte
	keys   []uint64
	values []trafficCounts
	calls  int // of Counts, for sweepEvery
}

// OpenTraffic loads and attaches the counting programs. Nothing is pinned:
// they live in descriptors of this process, which the kernel closes when
// Close does or when the process ends, however it ends, and the programs
// are gone with the last of them. An error that says the kernel or our
// privileges cannot count wraps ErrUnavailable.
func OpenTraffic() (*Traffic, error) {
	if !MayLoad() {
		return nil, fmt.Errorf("%w: counting traffic needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN (run as root)", ErrUnavailable)
	}
	if !initialUserNS() {
		return nil, fmt.Errorf("%w: counting traffic needs the machine's own capabilities; those of a user namespace of its own do not load BPF", ErrUnavailable)
	}
	t := &Traffic{objs: new(trafficObjects)}
	if err := loadTrafficObjects(t.objs, nil); err != nil {
		return nil, fmt.Errorf("%w: load traffic counter: %w", ErrUnavailable, err)
	}
	for _, p := range []struct {
		name string
		prog *ebpf.Program
	}{{"sock_send_length", t.objs.UdslsSent}, {"sock_recv_length", t.objs.UdslsReceived}} {
		l, err := link.AttachTracing(link.TracingOptions{Program: p.prog})
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("%w: attach to tracepoint %s: %w", ErrUnavailable, p.name, err)
		}
		t.links = append(t.links, l)
	}
	it, err := link.AttachIter(link.IterOptions{Program: t.objs.UdslsCounts})
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("%w: attach traffic iterator: %w", ErrUnavailable, err)
	}
	t.iter = it
	return t, nil
}

// initialUserNS says whether this process runs in the machine's first user
// namespace: in another, capget(2) reports every capability, and the
// kernel refuses BPF all the same (EPERM, which says nothing more).
func initialUserNS() bool {
	link, err := os.Readlink("/proc/self/ns/user")
	// Without /proc, the kernel's answer will have to do.
	return err != nil || link == "user:[4026531837]"
}

// sweepEvery is how many calls of Counts go by between walks of every
// process's descriptors to forget the counts of closed sockets: at 30k
// open files a walk takes 30-40 ms of CPU, a read of the map about one,
// and a watch reads it every second.
const sweepEvery = 10

// Counts returns the bytes counted for each socket, by inode. Between
// sweeps it may still hold sockets closed since the last one: their inodes
// are in no listing, and socket inodes come from a counter that wraps only
// after 2^32 of them, so no new socket takes over a count.
func (t *Traffic) Counts() (map[uint64]inspect.Traffic, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.iter == nil {
		return nil, fmt.Errorf("traffic counter: %w", os.ErrClosed)
	}
	t.calls++
	if t.calls%sweepEvery == 0 {
		if err := t.sweep(); err != nil {
			return nil, err
		}
	}
	return t.read()
}

// sweep forgets the counts of sockets no process holds any more, found by
// a walk of every descriptor on the machine. t.mu is held.
func (t *Traffic) sweep() error {
	// Only sockets counted before the walk may be forgotten after it: one
	// that sends its first byte meanwhile is not behind it.
	before, err := t.read()
	if err != nil {
		return err
	}
	r, err := t.iter.Open()
	if err != nil {
		return fmt.Errorf("open traffic iterator: %w", err)
	}
	t.buf, err = readAll(r, t.buf[:0])
	r.Close()
	if err != nil {
		return fmt.Errorf("read traffic iterator: %w", err)
	}
	held, err := decodeTraffic(t.buf)
	if err != nil {
		return err
	}
	for ino := range before {
		if _, open := held[ino]; open {
			continue
		}
		if err := t.objs.UdslsBytes.Delete(ino); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("forget the traffic of closed socket %d: %w", ino, err)
		}
	}
	return nil
}

// read returns the counts the map holds.
func (t *Traffic) read() (map[uint64]inspect.Traffic, error) {
	if t.keys == nil {
		t.keys, t.values = make([]uint64, 4096), make([]trafficCounts, 4096)
	}
	counts := make(map[uint64]inspect.Traffic)
	var cursor ebpf.MapBatchCursor
	for {
		n, err := t.objs.UdslsBytes.BatchLookup(&cursor, t.keys, t.values, nil)
		for i := range n {
			counts[t.keys[i]] = inspect.Traffic{SentBytes: t.values[i].Sent, ReceivedBytes: t.values[i].Received}
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return counts, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read the traffic counts: %w", err)
		}
	}
}

// readAll appends what r reads until EOF to buf.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// decodeTraffic decodes the records of one run of the iterator.
func decodeTraffic(data []byte) (map[uint64]inspect.Traffic, error) {
	if len(data)%trafficRecordSize != 0 {
		return nil, fmt.Errorf("traffic iterator: %d bytes after the last record", len(data)%trafficRecordSize)
	}
	counts := make(map[uint64]inspect.Traffic, len(data)/trafficRecordSize)
	for b := data; len(b) > 0; b = b[trafficRecordSize:] {
		counts[binary.NativeEndian.Uint64(b)] = inspect.Traffic{
			SentBytes:     binary.NativeEndian.Uint64(b[8:]),
			ReceivedBytes: binary.NativeEndian.Uint64(b[16:]),
		}
	}
	return counts, nil
}

// Close detaches and unloads the programs and frees the counts; counting
// stops. It may be called more than once.
func (t *Traffic) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	if t.iter != nil {
		errs = append(errs, t.iter.Close())
		t.iter = nil
	}
	for _, l := range t.links {
		errs = append(errs, l.Close())
	}
	t.links = nil
	if t.objs != nil {
		errs = append(errs, t.objs.Close())
		t.objs = nil
	}
	return errors.Join(errs...)
}
