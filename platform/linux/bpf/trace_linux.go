//go:build linux && (amd64 || arm64)

package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// connectNR is connect(2)'s number in the 64-bit syscall table.
var connectNR = map[string]uint32{"amd64": 42, "arm64": 203}

// defaultRingSize is the ring buffer's size: some six thousand events
// that user space has not read yet before one is lost.
const defaultRingSize = 1 << 20

// traceEventSize is sizeof(struct trace_event) in trace.c.
const traceEventSize = 184

// Tracer streams the connects of every process on the machine. Its
// programs and links live in descriptors of this process only (nothing is
// pinned): the kernel detaches and frees them when Close closes them, or
// when the process dies, whatever kills it.
type Tracer struct {
	objs   traceObjects
	links  []link.Link
	rd     *ringbuf.Reader
	rec    ringbuf.Record
	offset time.Duration // wall clock minus CLOCK_BOOTTIME
}

// TraceConnects loads and attaches the connect tracer. An error that says
// the kernel or our privileges cannot run it wraps ErrUnavailable.
func TraceConnects() (*Tracer, error) {
	// The capabilities lacking are named: a process given some of them
	// (setpriv, a unit's AmbientCapabilities) learns which one to add.
	if miss := missingCaps(); len(miss) > 0 {
		return nil, fmt.Errorf("%w: tracing needs root, or CAP_BPF and CAP_PERFMON: missing %s", ErrUnavailable, strings.Join(miss, " and "))
	}
	// Root of a user namespace of its own has every capability there, and
	// the kernel still refuses it BPF.
	if link, err := os.Readlink("/proc/self/ns/user"); err == nil && link != "user:[4026531837]" {
		return nil, fmt.Errorf("%w: udsls runs in a user namespace of its own, whose capabilities do not let it load BPF", ErrUnavailable)
	}
	return traceConnects(defaultRingSize)
}

// traceConnects takes the ring buffer's size (a power of two, at least a
// page), which tests make tiny to overflow it.
func traceConnects(ringSize uint32) (t *Tracer, err error) {
	spec, err := loadTrace()
	if err != nil {
		return nil, fmt.Errorf("%w: connect tracer: %w", ErrUnavailable, err)
	}
	if err := spec.Variables["connect_nr"].Set(connectNR[runtime.GOARCH]); err != nil {
		return nil, fmt.Errorf("connect tracer: %w", err)
	}
	spec.Maps["udsls_trace_events"].MaxEntries = ringSize
	t = &Tracer{}
	if err := spec.LoadAndAssign(&t.objs, nil); err != nil {
		return nil, fmt.Errorf("%w: load connect tracer: %w", ErrUnavailable, err)
	}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	if err := t.attach(); err != nil {
		return nil, err
	}
	if t.rd, err = ringbuf.NewReader(t.objs.UdslsTraceEvents); err != nil {
		return nil, fmt.Errorf("connect tracer: %w", err)
	}
	var boot unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot); err != nil {
		return nil, fmt.Errorf("connect tracer: %w", err)
	}
	t.offset = time.Duration(time.Now().UnixNano() - boot.Nano())
	return t, nil
}

// attach links the programs to the tracepoints. The kernel marks every
// thread of the machine, running or blocked, for the syscall tracepoints
// (syscall_regfunc) before the first link's bpf(2) call returns: once
// attach returns, a connect any process starts is seen, whether the
// process ran before or not.
func (t *Tracer) attach() error {
	for _, p := range []*ebpf.Program{t.objs.UdslsTraceEnter, t.objs.UdslsTraceExit} {
		l, err := link.AttachTracing(link.TracingOptions{Program: p})
		if err != nil {
			return fmt.Errorf("%w: attach connect tracer: %w", ErrUnavailable, err)
		}
		t.links = append(t.links, l)
	}
	return nil
}

// ErrTimeout is what Read returns when no event came before its deadline.
var ErrTimeout = os.ErrDeadlineExceeded

// Read waits for the next connect until deadline (none when zero); it
// returns ErrTimeout when the deadline passes first.
func (t *Tracer) Read(deadline time.Time) (Connect, error) {
	t.rd.SetDeadline(deadline)
	for {
		if err := t.rd.ReadInto(&t.rec); err != nil {
			return Connect{}, err
		}
		if c, ok := t.decode(t.rec.RawSample); ok {
			return c, nil
		}
	}
}

// Pending reports whether events wait in the ring buffer, which a caller
// may read before it flushes its output.
func (t *Tracer) Pending() bool { return t.rd.AvailableBytes() > 0 }

func (t *Tracer) decode(b []byte) (Connect, bool) {
	if len(b) < traceEventSize {
		return Connect{}, false
	}
	ne := binary.NativeEndian
	c := Connect{
		Time:      time.Unix(0, int64(ne.Uint64(b))+int64(t.offset)),
		PeerInode: ne.Uint64(b[8:]),
		PID:       int(ne.Uint32(b[16:])),
		UID:       ne.Uint32(b[20:]),
		PeerPID:   int(ne.Uint32(b[28:])),
		Type:      int(ne.Uint16(b[32:])),
	}
	if ret := int32(ne.Uint32(b[24:])); ret < 0 {
		c.Err = syscall.Errno(-ret)
	}
	comm := b[36:52]
	if i := bytes.IndexByte(comm, 0); i >= 0 {
		comm = comm[:i]
	}
	c.Command = string(comm)
	name := b[52 : 52+min(int(ne.Uint16(b[34:])), 108)]
	// As the kernel reads a sockaddr_un (unix_mkname_bsd): a name that
	// starts with NUL is abstract and all its bytes count; a path ends at
	// its first NUL.
	if len(name) > 0 && name[0] == 0 {
		c.Abstract, name = true, name[1:]
	} else if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	c.Name = string(name)
	return c, true
}

// Lost is the number of connects not reported so far: the ring buffer was
// full (user space did not keep up), or the tracer had no room to keep the
// arguments of one.
func (t *Tracer) Lost() (uint64, error) {
	var perCPU []uint64
	if err := t.objs.UdslsTraceLost.Lookup(uint32(0), &perCPU); err != nil {
		return 0, fmt.Errorf("connect tracer: lost events: %w", err)
	}
	var n uint64
	for _, v := range perCPU {
		n += v
	}
	return n, nil
}

// Detach stops the events: those sent already can still be read.
func (t *Tracer) Detach() error {
	var errs []error
	for _, l := range t.links {
		errs = append(errs, l.Close())
	}
	t.links = nil
	return errors.Join(errs...)
}

// Close detaches and unloads the tracer; a Read blocked meanwhile returns
// an error.
func (t *Tracer) Close() error {
	errs := []error{t.Detach()}
	if t.rd != nil {
		errs = append(errs, t.rd.Close())
	}
	errs = append(errs, t.objs.Close())
	return errors.Join(errs...)
}
