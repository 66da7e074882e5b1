//go:build linux && (amd64 || arm64)

package bpf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// dumpEventSize is sizeof(struct event) in dump.c.
const dumpEventSize = 64

// Dumper is the dump program, loaded and attached: Close unloads it.
type Dumper struct {
	objs  dumpObjects
	links []link.Link
	rd    *ringbuf.Reader
	// boot is the wall-clock time of CLOCK_BOOTTIME's zero.
	boot time.Time
}

// StartDump loads and attaches the program that copies what is sent over
// t's sockets. Nothing is pinned: the program, its links and maps live in
// descriptors of this process, which the kernel frees when they are
// closed or the process dies. An error that says the kernel or our
// privileges cannot run it wraps ErrUnavailable.
func StartDump(t DumpTarget) (*Dumper, error) {
	if len(t.Name) > 108 {
		return nil, fmt.Errorf("socket name of %d bytes: at most 108", len(t.Name))
	}
	spec, err := loadDump()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var name [108]byte
	copy(name[:], t.Name)
	for v, x := range map[string]any{
		"nr_write": uint32(unix.SYS_WRITE), "nr_writev": uint32(unix.SYS_WRITEV),
		"nr_sendto": uint32(unix.SYS_SENDTO), "nr_sendmsg": uint32(unix.SYS_SENDMSG),
		"nr_sendmmsg": uint32(unix.SYS_SENDMMSG),
		"max_bytes":   uint32(t.MaxBytes), "target_name_len": uint32(len(t.Name)), "target_name": name,
	} {
		if err := spec.Variables[v].Set(x); err != nil {
			return nil, fmt.Errorf("dump program: set %s: %w", v, err)
		}
	}
	d := &Dumper{}
	if err := spec.LoadAndAssign(&d.objs, nil); err != nil {
		return nil, fmt.Errorf("%w: load dump program: %w", ErrUnavailable, err)
	}
	for _, ino := range t.Inodes {
		if err := d.objs.Targets.Put(ino, uint8(1)); err != nil {
			d.Close()
			return nil, fmt.Errorf("dump program: target inode %d: %w", ino, err)
		}
	}
	if d.rd, err = ringbuf.NewReader(d.objs.Events); err != nil {
		d.Close()
		return nil, fmt.Errorf("%w: dump ring buffer: %w", ErrUnavailable, err)
	}
	l, err := link.AttachTracing(link.TracingOptions{Program: d.objs.UdslsDumpSend})
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("%w: attach %s: %w", ErrUnavailable, d.objs.UdslsDumpSend, err)
	}
	d.links = append(d.links, l)
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		d.Close()
		return nil, err
	}
	d.boot = time.Now().Add(-time.Duration(ts.Nano()))
	return d, nil
}

// Run hands each message to each until ctx is done, then detaches the
// program and hands over what the ring buffer still holds.
func (d *Dumper) Run(ctx context.Context, each func(*Message) error) error {
	var rec ringbuf.Record
	stopped := false
	for {
		if !stopped && ctx.Err() != nil {
			d.detach()
			stopped = true
		}
		if stopped {
			d.rd.SetDeadline(time.Now())
		} else {
			d.rd.SetDeadline(time.Now().Add(100 * time.Millisecond))
		}
		err := d.rd.ReadInto(&rec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if stopped {
				return nil
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("dump ring buffer: %w", err)
		}
		m, err := d.decode(rec.RawSample)
		if err != nil {
			return err
		}
		if err := each(m); err != nil {
			return err
		}
	}
}

func (d *Dumper) decode(b []byte) (*Message, error) {
	if len(b) < dumpEventSize {
		return nil, fmt.Errorf("dump ring buffer: a record of %d bytes", len(b))
	}
	ne := binary.NativeEndian
	m := &Message{
		Time:    d.boot.Add(time.Duration(ne.Uint64(b))),
		Inode:   ne.Uint64(b[8:]),
		Peer:    ne.Uint64(b[16:]),
		PID:     ne.Uint32(b[24:]),
		TID:     ne.Uint32(b[28:]),
		Len:     ne.Uint32(b[32:]),
		Call:    Call(ne.Uint32(b[40:])),
		Command: cstring(b[48:64]),
	}
	caplen := ne.Uint32(b[36:])
	if int(caplen) > len(b)-dumpEventSize {
		return nil, fmt.Errorf("dump ring buffer: %d bytes said, %d there", caplen, len(b)-dumpEventSize)
	}
	m.Data = append([]byte(nil), b[dumpEventSize:dumpEventSize+int(caplen)]...)
	return m, nil
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// Lost is the number of messages the ring buffer had no room for.
func (d *Dumper) Lost() uint64 {
	var n uint64
	if err := d.objs.Lost.Lookup(uint32(0), &n); err != nil {
		return 0
	}
	return n
}

func (d *Dumper) detach() {
	for _, l := range d.links {
		l.Close()
	}
	d.links = nil
}

// Close detaches and unloads everything.
func (d *Dumper) Close() error {
	d.detach()
	if d.rd != nil {
		d.rd.Close()
	}
	return d.objs.Close()
}
