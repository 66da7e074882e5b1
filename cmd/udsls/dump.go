package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/internal/errpath"
	"github.com/udsls/udsls/platform/linux"
	"github.com/udsls/udsls/platform/linux/bpf"
)

// maxDumpBytes bounds --max-bytes: one message must fit the program's
// ring buffer many times over.
const maxDumpBytes = 1 << 20

// The pcap file: the classic format with nanosecond timestamps, one
// record per message, whose data is pcapHeaderLen bytes of udsls's own
// header (README "The pcap format") and then the payload.
const (
	pcapMagicNanos = 0xa1b23c4d
	linkTypeUser0  = 147 // LINKTYPE_USER0: private use, no dissector claims it
	pcapHeaderLen  = 48
	pcapVersion    = 1
)

func runDump(ctx context.Context, o *options, e *env) (int, error) {
	if o.serveFor < 0 {
		return exitError, usagef("--for must not be negative, got %v", o.serveFor)
	}
	if miss := bpf.MissingCaps(); len(miss) > 0 {
		return exitError, fmt.Errorf("--dump needs root, or CAP_BPF and CAP_PERFMON: missing %s", strings.Join(miss, " and "))
	}
	target, desc, err := resolveDumpTarget(ctx, o.dumpTarget)
	if err != nil {
		return exitError, err
	}
	target.MaxBytes = o.maxBytes

	// The pcap file is written beside its path and renamed into place at
	// the end, as --output-file is: FILE is always a whole capture. An
	// interruption is how a dump normally ends, so it still commits.
	var out *outFile
	var pcap *bufio.Writer
	switch o.writeFile {
	case "":
	case "-":
		pcap = bufio.NewWriter(e.stdout)
	default:
		if out, err = openOutputFile(context.WithoutCancel(ctx), o.writeFile); err != nil {
			return exitError, errors.New("-w" + strings.TrimPrefix(err.Error(), "--output-file"))
		}
		defer out.discard()
		pcap = bufio.NewWriter(out.tmp)
	}
	if pcap != nil {
		if err := writePcapHeader(pcap, o.maxBytes); err != nil {
			return exitError, err
		}
	}

	d, err := bpf.StartDump(target)
	if err != nil {
		return exitError, fmt.Errorf("--dump: %w", err)
	}
	defer d.Close()
	// A run cut short by --for ends well: exit 0.
	runCtx := ctx
	if o.serveFor > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, o.serveFor)
		defer cancel()
	}
	e.note("dumping %s; Ctrl-C to stop", desc)

	var n, bytes uint64
	err = d.Run(runCtx, func(m *bpf.Message) error {
		n++
		bytes += uint64(len(m.Data))
		if pcap != nil {
			if err := writePcapRecord(pcap, m); err != nil {
				return err
			}
			if out == nil {
				return pcap.Flush() // a live reader (wireshark -k -i -) sees each message
			}
			return nil
		}
		return writeHexView(e.stdout, m)
	})
	lost := d.Lost()
	d.Close()
	if err == nil && pcap != nil {
		err = pcap.Flush()
	}
	if err == nil && out != nil {
		critical.Lock()
		err = out.commit(func(io.Writer) error { return nil })
		critical.Unlock()
		if err != nil {
			err = fmt.Errorf("-w %q: %w", o.writeFile, err)
		}
	}
	if lost > 0 {
		// Never silent, not even with -q: a capture with holes must say so.
		e.stderr.say("warning", fmt.Sprintf("%d messages were lost: the ring buffer was full (the reader fell behind)", lost))
	}
	e.note("%d messages, %d bytes captured", n, bytes)
	if errors.Is(err, syscall.EPIPE) {
		return exitOK, nil // `udsls --dump X | head`: the reader had enough
	}
	if err != nil {
		return exitError, err
	}
	return exitOK, nil
}

// resolveDumpTarget finds the sockets TARGET names: a path, @name or an
// inode number.
func resolveDumpTarget(ctx context.Context, arg string) (bpf.DumpTarget, string, error) {
	var t bpf.DumpTarget
	var st os.FileInfo
	ino, inoErr := strconv.ParseUint(arg, 10, 64)
	switch {
	case strings.HasPrefix(arg, "@"):
	case inoErr == nil && ino > 0:
	default:
		var err error
		if st, err = os.Stat(arg); err != nil {
			return t, "", fmt.Errorf("--dump %s: %w", render.EscapeName(arg, false), errpath.Strip(err))
		}
		if st.Mode().Type() != os.ModeSocket {
			return t, "", fmt.Errorf("--dump %s: not a socket", render.EscapeName(arg, false))
		}
	}
	socks, err := linux.DumpUnix(ctx)
	if err != nil {
		return t, "", fmt.Errorf("--dump: list the sockets: %w", err)
	}
	var bound *inspect.Socket
	for i := range socks {
		s := &socks[i]
		var match bool
		switch {
		case strings.HasPrefix(arg, "@"):
			match = s.Abstract && s.Path == arg
		case st != nil:
			match = s.Path != "" && !s.Abstract && s.Bound.Key() == statID(st).Key()
		default:
			match = uint64(s.ID) == ino
		}
		if !match {
			continue
		}
		t.Inodes = append(t.Inodes, uint64(s.ID))
		// A connection accepted by a listener carries its name: by inode,
		// the name is the target's only when the socket is the one that
		// bound it (a listener, an unconnected datagram socket).
		byName := st != nil || strings.HasPrefix(arg, "@") ||
			s.State == inspect.StateListening || s.Type == inspect.TypeDgram && s.Peer == 0
		if s.Path != "" && byName && (bound == nil || s.State == inspect.StateListening) {
			bound = s
		}
	}
	if len(t.Inodes) == 0 {
		switch {
		case strings.HasPrefix(arg, "@"):
			return t, "", fmt.Errorf("--dump: no socket is bound to the abstract name %s", render.EscapeName(arg, true))
		case st != nil:
			return t, "", fmt.Errorf("--dump %s: no socket is bound to it (a stale socket file?)", render.EscapeName(arg, false))
		}
		return t, "", fmt.Errorf("--dump: no Unix domain socket has inode %d", ino)
	}
	desc := fmt.Sprintf("socket %d", t.Inodes[0])
	if bound != nil {
		// Matching by name also catches the connections a listener accepts
		// after this point, and the datagrams sent to it by name.
		t.Name = []byte(bound.Path)
		if bound.Abstract {
			t.Name = append([]byte{0}, bound.Path[1:]...)
		}
		desc = render.EscapeName(bound.Path, bound.Abstract) + " (inode " + strconv.FormatUint(uint64(bound.ID), 10) + ")"
	}
	return t, desc, nil
}

// statID is the identity of a file as inspect.FileID holds it.
func statID(fi os.FileInfo) inspect.FileID {
	dev, ino := fileDevIno(fi)
	return inspect.FileID{Dev: dev, Ino: ino}
}

func writePcapHeader(w io.Writer, maxBytes int) error {
	var h [24]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], pcapMagicNanos)
	le.PutUint16(h[4:], 2)
	le.PutUint16(h[6:], 4)
	le.PutUint32(h[16:], uint32(pcapHeaderLen+maxBytes)) // snaplen
	le.PutUint32(h[20:], linkTypeUser0)
	_, err := w.Write(h[:])
	return err
}

// writePcapRecord writes one message: the pcap record header (little-
// endian, as the file header), then udsls's header (big-endian), then the
// payload.
func writePcapRecord(w io.Writer, m *bpf.Message) error {
	var b [16 + pcapHeaderLen]byte
	le, be := binary.LittleEndian, binary.BigEndian
	ns := m.Time.UnixNano()
	le.PutUint32(b[0:], uint32(ns/1e9))
	le.PutUint32(b[4:], uint32(ns%1e9))
	le.PutUint32(b[8:], uint32(pcapHeaderLen+len(m.Data)))
	le.PutUint32(b[12:], uint32(min(pcapHeaderLen+uint64(m.Len), 1<<32-1)))
	h := b[16:]
	be.PutUint16(h[0:], pcapHeaderLen)
	h[2] = pcapVersion
	h[3] = byte(m.Call)
	be.PutUint32(h[4:], m.PID)
	be.PutUint32(h[8:], m.Len)
	be.PutUint32(h[12:], m.TID)
	be.PutUint64(h[16:], m.Inode)
	be.PutUint64(h[24:], m.Peer)
	copy(h[32:48], m.Command)
	if _, err := w.Write(b[:]); err != nil {
		return err
	}
	_, err := w.Write(m.Data)
	return err
}

// writeHexView writes one message as a header line and hexdump -C lines,
// whose text column shows printable ASCII only: nothing a process sent
// reaches the terminal as is.
func writeHexView(w io.Writer, m *bpf.Message) error {
	var b strings.Builder
	peer := "?"
	if m.Peer != 0 {
		peer = strconv.FormatUint(m.Peer, 10)
	}
	fmt.Fprintf(&b, "%s pid %d (%s) %s %d -> %s, %d bytes", m.Time.Format("15:04:05.000000"), m.PID, render.Escape(m.Command), m.Call, m.Inode, peer, m.Len)
	if len(m.Data) < int(m.Len) {
		fmt.Fprintf(&b, " (%d shown)", len(m.Data))
	}
	b.WriteString("\n")
	for off := 0; off < len(m.Data); off += 16 {
		line := m.Data[off:min(off+16, len(m.Data))]
		fmt.Fprintf(&b, "  %04x ", off)
		for i := range 16 {
			if i == 8 {
				b.WriteByte(' ')
			}
			if i < len(line) {
				fmt.Fprintf(&b, " %02x", line[i])
			} else {
				b.WriteString("   ")
			}
		}
		b.WriteString("  |")
		for _, c := range line {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			b.WriteByte(c)
		}
		b.WriteString("|\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
