package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform/linux/bpf"
)

// flushAfter bounds how long a line waits in udsls while other events,
// filtered out, keep coming.
const flushAfter = 100 * time.Millisecond

// lostEvery is how often --trace looks whether the kernel dropped events.
const lostEvery = time.Second

// runTrace streams the connects to Unix sockets until cancelled or --for
// has passed.
func runTrace(ctx context.Context, o *options, e *env) (int, error) {
	if o.serveFor < 0 {
		return exitError, usagef("--for must not be negative, got %v", o.serveFor)
	}
	patterns, err := patternArgs(o.args)
	if err != nil {
		return exitError, err
	}
	uids, err := traceUIDs(o.users)
	if err != nil {
		return exitError, err
	}
	// The listing says so of a -p that is no process; a trace of one would
	// wait in silence for connects that cannot come.
	for _, pid := range o.pids {
		if _, err := os.Stat(filepath.Join(o.procRoot, strconv.Itoa(pid))); errors.Is(err, fs.ErrNotExist) {
			e.note("no process %d: only a process given that id later would show", pid)
		}
	}
	tr, err := bpf.TraceConnects()
	if err != nil {
		return exitError, fmt.Errorf("--trace: %w", err)
	}
	defer tr.Close()
	if o.serveFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.serveFor)
		defer cancel()
	}
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil && ns != "pid:[4026531836]" {
		e.warn("udsls runs in a pid namespace of its own: the pids shown are the machine's, not this namespace's")
	}
	e.note("tracing connect(2) to Unix sockets; Ctrl-C stops")
	if o.output == "table" {
		if err := render.ConnectHeader(e.stdout); err != nil {
			return exitError, err
		}
		if err := e.stream.Flush(); err != nil {
			return exitError, err
		}
	}
	t := &tracing{o: o, e: e, tr: tr, patterns: patterns, uids: uids, names: map[uint32]string{},
		out: bufio.NewWriterSize(e.stdout, 64<<10), comms: map[int]comm{}}
	err = t.loop(ctx)
	if ctx.Err() != nil && err == ctx.Err() {
		// What the kernel has sent is shown, not dropped at the end.
		err = t.drain(context.WithoutCancel(ctx))
	}
	// What was lost at the end is said even when the run failed.
	if lerr := t.reportLost(); err == nil {
		err = lerr
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return exitError, err
	}
	return exitOK, nil
}

type tracing struct {
	o        *options
	e        *env
	tr       *bpf.Tracer
	patterns []string
	uids     []uint32
	names    map[uint32]string // user names by uid, "" for none
	comms    map[int]comm      // servers' commands by pid
	out      *bufio.Writer
	since    time.Time // since when out holds nothing that was written
	lost     uint64    // reported so far
	// owners maps socket inodes to the pid holding them, from the last
	// run of the fd iterator, made at ownersAt.
	owners   map[uint64]int
	ownersAt time.Time
}

func (t *tracing) loop(ctx context.Context) error {
	nextLost := time.Now().Add(lostEvery)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Short waits: the context and the lost count are looked at
		// between them.
		c, err := t.tr.Read(time.Now().Add(100 * time.Millisecond))
		switch {
		case errors.Is(err, bpf.ErrTimeout):
		case err != nil:
			return err
		default:
			if err := t.print(ctx, &c); err != nil {
				return err
			}
		}
		// Each event as it happens, but one write for a burst: a write
		// per event is what keeps udsls from keeping up with a flood.
		if t.out.Buffered() == 0 {
			t.since = time.Now()
		} else if !t.tr.Pending() || time.Since(t.since) > flushAfter {
			if err := t.flush(); err != nil {
				return err
			}
		}
		if time.Now().After(nextLost) {
			if err := t.reportLost(); err != nil {
				return err
			}
			nextLost = time.Now().Add(lostEvery)
		}
	}
}

// drain detaches the tracer and prints the events it holds still.
func (t *tracing) drain(ctx context.Context) error {
	t.tr.Detach()
	for {
		c, err := t.tr.Read(time.Now())
		if errors.Is(err, bpf.ErrTimeout) {
			return t.flush()
		}
		if err != nil {
			return err
		}
		if err := t.print(ctx, &c); err != nil {
			return err
		}
	}
}

// reportLost warns of the events dropped since the last warning. It
// ignores -q: a trace with holes must say so.
func (t *tracing) reportLost() error {
	n, err := t.tr.Lost()
	if err != nil {
		return err
	}
	if n > t.lost {
		t.e.stderr.say("warning", fmt.Sprintf("%d connects not shown: the kernel's buffer was full (udsls did not keep up)", n-t.lost))
		t.lost = n
	}
	return nil
}

func (t *tracing) print(ctx context.Context, c *bpf.Connect) error {
	name := c.Name
	if c.Abstract {
		name = "@" + name
	}
	if len(t.o.pids) > 0 && !slices.Contains(t.o.pids, c.PID) ||
		len(t.uids) > 0 && !slices.Contains(t.uids, c.UID) ||
		len(t.patterns) > 0 && !inspect.MatchName(t.patterns, name) {
		return nil
	}
	r := render.Connect{
		Time: c.Time, PID: c.PID, Command: c.Command, UID: c.UID, User: t.userName(c.UID),
		Name: name, Abstract: c.Abstract, Type: inspect.Type(c.Type), Result: "ok",
	}
	if c.Err != 0 {
		r.Result = errnoName(c.Err)
	} else {
		r.Server = t.server(ctx, c)
	}
	var err error
	if t.o.output == "json" {
		err = render.WriteConnectJSON(t.out, &r)
	} else {
		err = render.WriteConnect(t.out, &r)
	}
	if err != nil {
		return err
	}
	return nil
}

func (t *tracing) flush() error {
	if err := t.out.Flush(); err != nil {
		return err
	}
	return t.e.stream.Flush()
}

// server names the process at the other end of a connect that succeeded:
// for a stream or seqpacket socket the one that called listen(2), which
// the kernel hands the client as SO_PEERCRED; for a datagram socket the
// holder of the socket it was connected to, found with the fd iterator.
func (t *tracing) server(ctx context.Context, c *bpf.Connect) *render.Server {
	pid := c.PeerPID
	if pid == 0 && c.PeerInode != 0 {
		var ok bool
		if pid, ok = t.owners[c.PeerInode]; !ok && time.Since(t.ownersAt) > ownersEvery {
			// A socket bound since the last run: run it again, but not
			// for every datagram of a flood.
			t.ownersAt = time.Now()
			t.owners = map[uint64]int{}
			if fds, err := bpf.UnixSocketFDs(ctx); err == nil {
				for _, f := range fds {
					t.owners[f.Inode] = f.PID
				}
			}
			pid = t.owners[c.PeerInode]
		}
	}
	if pid == 0 {
		return nil
	}
	if c, ok := t.comms[pid]; ok && time.Since(c.at) < commFor {
		return &render.Server{PID: pid, Command: c.name}
	}
	// A server that is gone already leaves its pid and no command.
	b, _ := os.ReadFile(filepath.Join(t.o.procRoot, strconv.Itoa(pid), "comm"))
	name := strings.TrimSuffix(string(b), "\n")
	if len(t.comms) > 4096 {
		clear(t.comms)
	}
	t.comms[pid] = comm{name, time.Now()}
	return &render.Server{PID: pid, Command: name}
}

// comm is a process's command as read at a time.
type comm struct {
	name string
	at   time.Time
}

// commFor is how long a server's command is taken as read: a flood of
// connects to one server reads it once a second, not once a connect.
const commFor = time.Second

// ownersEvery is how often at most the fd iterator runs to find the holder
// of a datagram server's socket.
const ownersEvery = 100 * time.Millisecond

func (t *tracing) userName(uid uint32) string {
	n, ok := t.names[uid]
	if !ok {
		if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
			n = u.Username
		}
		t.names[uid] = n
	}
	return n
}

// traceUIDs turns -u's names and uids into uids.
func traceUIDs(users []string) ([]uint32, error) {
	var uids []uint32
	for _, u := range users {
		if n, err := strconv.ParseUint(u, 10, 32); err == nil {
			uids = append(uids, uint32(n))
			continue
		}
		acct, err := user.Lookup(u)
		if err != nil {
			return nil, usagef("--user: no user %q on this machine", u)
		}
		n, err := strconv.ParseUint(acct.Uid, 10, 32)
		if err != nil {
			return nil, usagef("--user: user %q has uid %q, not a number", u, acct.Uid)
		}
		uids = append(uids, uint32(n))
	}
	return uids, nil
}
