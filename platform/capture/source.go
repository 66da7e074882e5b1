package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/linux"
)

// captureKinds are the saved outputs --from reads.
var captureKinds = []string{"lsof", "netstat", "procnet"}

// MaxFileSize bounds each capture file: a real lsof or netstat listing
// of a large host is a few MiB, and a read without bound (a device, a pipe
// that never ends) would take all memory.
const MaxFileSize = 256 << 20

// captureWants says, per kind, what a file must hold.
var captureWants = map[string]string{
	"lsof":    "lsof -U output (the table or -F fields)",
	"netstat": "macOS or FreeBSD netstat output with its unix section (netstat -f unix)",
	"procnet": "a copy of Linux /proc/net/unix",
}

// New returns a source that reads saved outputs, each spec being
// KIND:FILE with KIND one of:
//
//	lsof     lsof -U output, -F fields (NL or NUL) or the table (macOS or Linux)
//	netstat  macOS or FreeBSD netstat output with its unix section
//	procnet  a copy of Linux /proc/net/unix
//
// Captures of one moment combine: lsof with netstat (macOS, joined on
// kernel addresses) or lsof with procnet (Linux, joined on inodes, which
// lsof must then print). Each kind may appear once. The specs are checked
// here; the files are read and checked by the first Snapshot, which every
// mode calls before any output, so that a read from a pipe that never
// ends stops when its context is cancelled.
func New(specs []string) (inspect.Source, error) {
	files := map[string]string{}
	for _, spec := range specs {
		kind, file, ok := strings.Cut(spec, ":")
		if !ok || file == "" {
			return nil, fmt.Errorf("capture %q: want KIND:FILE with KIND one of %s", spec, strings.Join(captureKinds, ", "))
		}
		if !slices.Contains(captureKinds, kind) {
			return nil, fmt.Errorf("capture %q: unknown kind %q (want %s)", spec, kind, strings.Join(captureKinds, ", "))
		}
		if _, dup := files[kind]; dup {
			return nil, fmt.Errorf("capture %q: a second %s capture; give at most one of each kind", spec, kind)
		}
		files[kind] = file
	}
	if files["netstat"] != "" && files["procnet"] != "" {
		return nil, errors.New("captures: netstat (macOS) and procnet (Linux) cannot be combined")
	}
	if len(files) == 0 {
		return nil, errors.New("captures: none given")
	}
	return &source{files: files}, nil
}

// read reads and joins the captures.
func (c *source) read(ctx context.Context) (*inspect.Snapshot, error) {
	files := c.files
	var (
		socks    []inspect.Socket
		warnings []string
		lsof     *Lsof
	)
	for _, kind := range captureKinds {
		file, ok := files[kind]
		if !ok {
			continue
		}
		data, err := readFile(ctx, file)
		if err == nil && len(data) == 0 {
			err = fmt.Errorf("empty file: want %s", captureWants[kind])
		}
		if err == nil {
			r := bytes.NewReader(crlf(data))
			switch kind {
			case "lsof":
				lsof, err = ParseLsof(r)
			case "netstat":
				var rows []NetstatRow
				rows, err = ParseNetstat(r)
				socks, warnings = NetstatSockets(rows)
			case "procnet":
				socks, err = linux.ParseProcNetUnix(r)
			}
		}
		if err != nil {
			if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
				return nil, fmt.Errorf("capture %q: %w", kind+":"+file, interrupted{cerr})
			}
			return nil, fmt.Errorf("capture %q: %w", kind+":"+file, err)
		}
	}
	other := "netstat"
	if files["procnet"] != "" {
		other = "procnet"
	}
	if lsof != nil && len(lsof.Files) > 0 {
		switch {
		case files["procnet"] != "" && !lsof.Inodes:
			return nil, fmt.Errorf("capture %q: no socket inodes (the i field) to join with /proc/net/unix", "lsof:"+files["lsof"])
		case files["netstat"] != "" && lsof.Inodes:
			return nil, fmt.Errorf("capture %q: Linux lsof output cannot be joined with netstat", "lsof:"+files["lsof"])
		}
		if files[other] != "" && len(socks) > 0 && !anyJoins(socks, lsof) {
			warnings = append(warnings, fmt.Sprintf("no socket of capture %q matches one of capture %q: were they taken on one machine at one moment?",
				"lsof:"+files["lsof"], other+":"+files[other]))
		}
	}
	snap := Join(socks, lsof)
	snap.Backend = "capture"
	snap.Warnings = warnings
	// Only Linux captures carry inodes; macOS's IDs are kernel addresses.
	snap.Addresses = files["procnet"] == "" && (lsof == nil || !lsof.Inodes)
	return snap, nil
}

// interrupted is a read the context stopped: it names no Go internals
// ("context canceled"), yet errors.Is still finds the context's error.
type interrupted struct{ err error }

func (e interrupted) Error() string { return "interrupted before it was read" }
func (e interrupted) Unwrap() error { return e.err }

// crlf undoes CRLF line ends, which a capture gets when it passes through
// Windows (a bug report's attachment), where every line has one: the tools
// end lines with a bare NL, and a name ending in CR on every line is not
// to be expected.
func crlf(data []byte) []byte {
	n := bytes.Count(data, []byte("\n"))
	if n == 0 || bytes.Count(data, []byte("\r\n")) != n {
		return data
	}
	return bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
}

// anyJoins reports whether one socket lsof lists is in socks.
func anyJoins(socks []inspect.Socket, l *Lsof) bool {
	ids := make(map[inspect.SocketID]bool, len(socks))
	for _, s := range socks {
		ids[s.ID] = true
	}
	for _, f := range l.Files {
		if ids[f.ID] {
			return true
		}
	}
	return false
}

// readFile reads a whole capture of at most MaxFileSize bytes. The
// file may be a pipe or a FIFO (`--from lsof:<(lsof -U)`): opening a FIFO
// waits for a writer and a read waits for data, possibly forever, so both
// run in a goroutine that ctx's cancellation abandons. A pipe's reads go
// through the runtime poller, where a past deadline wakes them at once.
func readFile(ctx context.Context, name string) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	var (
		mu        sync.Mutex
		file      *os.File
		cancelled bool
	)
	done := make(chan result, 1)
	go func() {
		f, err := os.Open(name)
		if err != nil {
			done <- result{nil, err}
			return
		}
		defer f.Close()
		mu.Lock()
		file = f
		stop := cancelled
		mu.Unlock()
		if stop {
			done <- result{nil, ctx.Err()}
			return
		}
		data, err := readBounded(ctx, f)
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-ctx.Done():
		mu.Lock()
		cancelled = true
		if file != nil {
			// Not pollable (a device): the read returns by itself soon,
			// and the next chunk sees the context.
			_ = file.SetReadDeadline(time.Unix(1, 0))
		}
		mu.Unlock()
		return nil, ctx.Err()
	}
}

// readBounded reads f to its end, stopping at the first byte past
// MaxFileSize or when ctx is cancelled. A regular file too large is
// refused by its size; other files are read in chunks joined at the end,
// so that a stream past the limit never holds more than the limit.
func readBounded(ctx context.Context, f *os.File) ([]byte, error) {
	tooLarge := fmt.Errorf("larger than %d MiB, the limit for a capture file", MaxFileSize>>20)
	fi, err := f.Stat()
	if err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileSize {
		return nil, tooLarge
	}
	if err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
		// Read into one buffer of the file's size: chunks joined at the
		// end held every byte twice, 400 MiB for a 200 MiB file. A file
		// still growing goes on in chunks.
		data := make([]byte, fi.Size()+1)
		n, err := io.ReadFull(f, data)
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return data[:n], nil
		case err != nil:
			return nil, err
		}
		rest, err := readChunks(ctx, f, n, tooLarge)
		if err != nil {
			return nil, err
		}
		return append(data, rest...), nil
	}
	return readChunks(ctx, f, 0, tooLarge)
}

// readChunks reads f to its end in chunks, failing with tooLarge once
// done+what it read passes MaxFileSize.
func readChunks(ctx context.Context, f *os.File, done int, tooLarge error) ([]byte, error) {
	var (
		chunks [][]byte
		total  = done
	)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := make([]byte, 1<<20)
		n, err := io.ReadFull(f, chunk)
		if total+n > MaxFileSize {
			return nil, tooLarge
		}
		chunks, total = append(chunks, chunk[:n]), total+n
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return slices.Concat(chunks...), nil
		case err != nil:
			return nil, err
		}
	}
}

// source serves the snapshot read from the files by its first Snapshot.
type source struct {
	files map[string]string
	once  sync.Once
	snap  *inspect.Snapshot
	err   error
}

func (c *source) Snapshot(ctx context.Context) (*inspect.Snapshot, error) {
	c.once.Do(func() { c.snap, c.err = c.read(ctx) })
	if c.err != nil {
		return nil, c.err
	}
	s := *c.snap
	s.Sockets = slices.Clone(s.Sockets)
	s.Owners = slices.Clone(s.Owners)
	s.Warnings = slices.Clone(s.Warnings)
	s.Processes = maps.Clone(s.Processes)
	return &s, nil
}
