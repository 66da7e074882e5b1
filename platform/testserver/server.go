//go:build linux || darwin

package testserver

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

const (
	// echoMsg is what client sends to echo-stream; the echo stays unread.
	echoMsg = "hello, udsls\n"
	// pairMsg is what pair-b writes and pair-a never reads.
	pairMsg = "pair"
	// hostileName has a space, a newline and an escape sequence that would
	// turn a terminal red if printed raw.
	hostileName = "odd name\n\x1b[31m.sock"
	// echoTimeout bounds the wait for client's echo, so a broken echo
	// server fails Start instead of hanging it.
	echoTimeout = 10 // seconds
	// spareFDs is headroom for the fixed sockets and whatever else the
	// process holds when the descriptor limit is raised for the sets.
	spareFDs = 1024
)

// Server holds the sockets opened by Start until Close.
type Server struct {
	manifest  Manifest
	removeDir func(string) error // nil when Dir was there before Start
	files     []string           // filesystem names to remove
	fds       []int              // raw descriptors
	closers   []io.Closer        // the echo servers' listeners and sockets

	mu      sync.Mutex
	closing bool
	conns   map[net.Conn]bool // live echo connections
	wg      sync.WaitGroup    // echo goroutines

	closeOnce sync.Once
	closeErr  error
}

// Start opens every socket and returns once all of them are bound or
// connected and every queued byte is in place. On error nothing is left
// open or on disk.
func Start(cfg Config) (*Server, error) {
	if cfg.Count < 0 {
		return nil, fmt.Errorf("testserver: negative count %d", cfg.Count)
	}
	if err := reserveFDs(cfg.Count); err != nil {
		return nil, err
	}
	s := &Server{conns: map[net.Conn]bool{}}
	s.manifest.PID = os.Getpid()
	if err := s.start(cfg); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Manifest lists the sockets. The slice is shared; do not modify it.
func (s *Server) Manifest() Manifest { return s.manifest }

// Close stops the echo servers, waits for their goroutines, closes every
// descriptor and removes every file Start created. It may be called more
// than once; later calls return the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	var errs []error
	s.mu.Lock()
	s.closing = true
	for _, c := range s.closers {
		c.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	for _, fd := range s.fds {
		if err := unix.Close(fd); err != nil {
			errs = append(errs, fmt.Errorf("testserver: close fd %d: %w", fd, err))
		}
	}
	for _, p := range s.files {
		// Tests may have removed the stale file already, and listeners
		// from net remove their own.
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("testserver: %w", err))
		}
	}
	if s.removeDir != nil {
		if err := s.removeDir(s.manifest.Dir); err != nil {
			errs = append(errs, fmt.Errorf("testserver: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (s *Server) start(cfg Config) error {
	if err := s.makeDir(cfg.Dir); err != nil {
		return err
	}
	if err := s.startEchoStream(); err != nil {
		return err
	}
	if err := s.startEchoDgram(); err != nil {
		return err
	}
	if err := s.startExtras(); err != nil {
		return err
	}
	if err := s.openFull(); err != nil {
		return err
	}
	if err := s.openPair(); err != nil {
		return err
	}
	if err := s.openStale(); err != nil {
		return err
	}
	path, err := s.path(hostileName)
	if err != nil {
		return err
	}
	if _, err := s.listen(RoleHostile, path, 1); err != nil {
		return err
	}
	for i := range cfg.Count {
		if err := s.openSet(i); err != nil {
			return fmt.Errorf("testserver: set %d of %d: %w", i+1, cfg.Count, err)
		}
	}
	return nil
}

func (s *Server) makeDir(dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "udsls-serve-")
		if err != nil {
			return fmt.Errorf("testserver: %w", err)
		}
		s.manifest.Dir, s.removeDir = d, os.RemoveAll
		return nil
	}
	s.manifest.Dir = dir
	err := os.Mkdir(dir, 0o755)
	if err == nil {
		s.removeDir = os.Remove
		return nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("testserver: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("testserver: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("testserver: %q is not a directory", dir)
	}
	return nil
}

// path names a socket in the directory, exactly as it will be bound.
func (s *Server) path(name string) (string, error) {
	p := filepath.Join(s.manifest.Dir, name)
	if p[0] == '@' {
		// A leading @ would mean the abstract namespace to x/sys and net.
		p = "./" + p
	}
	if max := len(unix.RawSockaddrUnix{}.Path) - 1; len(p) > max {
		return "", fmt.Errorf("testserver: socket path %q is %d bytes, more than the %d the kernel takes", p, len(p), max)
	}
	return p, nil
}

// add records a socket held at fd, taking its inode from fstat, and
// returns its index in the manifest.
func (s *Server) add(e Socket, fd int) (int, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, fmt.Errorf("testserver: fstat %s socket fd %d: %w", e.Role, fd, err)
	}
	e.Inode = uint64(st.Ino)
	e.PID = s.manifest.PID
	e.FD = fd
	s.manifest.Sockets = append(s.manifest.Sockets, e)
	return len(s.manifest.Sockets) - 1, nil
}

func (s *Server) link(i, j int) {
	s.manifest.Sockets[i].PeerInode = s.manifest.Sockets[j].Inode
	s.manifest.Sockets[j].PeerInode = s.manifest.Sockets[i].Inode
}

// socket opens a raw socket that Close will close.
func (s *Server) socket(typ int) (int, error) {
	fd, err := socketCloexec(typ)
	if err != nil {
		return -1, os.NewSyscallError("socket", withLimit(err))
	}
	s.fds = append(s.fds, fd)
	return fd, nil
}

// bind binds fd to path and notes the file for removal.
func (s *Server) bind(fd int, path string) error {
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return fmt.Errorf("testserver: bind %q: %w", path, err)
	}
	if path[0] != '@' {
		s.files = append(s.files, path)
	}
	return nil
}

// listen opens a stream listener on path and records it, returning its
// index in the manifest.
func (s *Server) listen(role Role, path string, backlog int) (int, error) {
	fd, err := s.socket(unix.SOCK_STREAM)
	if err != nil {
		return -1, err
	}
	if err := s.bind(fd, path); err != nil {
		return -1, err
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return -1, fmt.Errorf("testserver: listen %q: %w", path, err)
	}
	return s.add(Socket{Role: role, Path: path, Abstract: path[0] == '@',
		Type: inspect.TypeStream, State: inspect.StateListening}, fd)
}

// dial connects a new unnamed stream socket to path.
func (s *Server) dial(path string) (int, error) {
	fd, err := s.socket(unix.SOCK_STREAM)
	if err != nil {
		return -1, err
	}
	err = ignoringEINTR(func() error { return unix.Connect(fd, &unix.SockaddrUnix{Name: path}) })
	if err != nil {
		return -1, fmt.Errorf("testserver: connect %q: %w", path, err)
	}
	return fd, nil
}

func (s *Server) openSet(i int) error {
	path, err := s.path("set-" + strconv.Itoa(i) + ".sock")
	if err != nil {
		return err
	}
	l, err := s.listen(RoleSetListener, path, 1)
	if err != nil {
		return err
	}
	cfd, err := s.dial(path)
	if err != nil {
		return err
	}
	afd, err := acceptCloexec(s.manifest.Sockets[l].FD)
	if err != nil {
		return os.NewSyscallError("accept", withLimit(err))
	}
	s.fds = append(s.fds, afd)
	a, err := s.add(Socket{Role: RoleSetAccepted, Path: path, Type: inspect.TypeStream, State: inspect.StateConnected}, afd)
	if err != nil {
		return err
	}
	c, err := s.add(Socket{Role: RoleSetClient, Type: inspect.TypeStream, State: inspect.StateConnected}, cfd)
	if err != nil {
		return err
	}
	s.link(a, c)
	return nil
}

// openFull makes a listener with backlog 0 and one connection it never
// accepts, which fills its queue: the kernel refuses a second one.
func (s *Server) openFull() error {
	path, err := s.path("full.sock")
	if err != nil {
		return err
	}
	l, err := s.listen(RoleFull, path, 0)
	if err != nil {
		return err
	}
	fd, err := s.dial(path)
	if err != nil {
		return err
	}
	s.manifest.Sockets[l].Queued = 1
	_, err = s.add(Socket{Role: RolePending, Type: inspect.TypeStream, State: inspect.StateConnected}, fd)
	return err
}

func (s *Server) openPair() error {
	fds, err := socketpairCloexec(unix.SOCK_STREAM)
	if err != nil {
		return os.NewSyscallError("socketpair", withLimit(err))
	}
	s.fds = append(s.fds, fds[0], fds[1])
	// A stream write to a socketpair lands in the peer's queue before
	// write returns.
	if n, err := unix.Write(fds[1], []byte(pairMsg)); err != nil || n != len(pairMsg) {
		return fmt.Errorf("testserver: write to pair: wrote %d of %d bytes: %v", n, len(pairMsg), err)
	}
	a, err := s.add(Socket{Role: RolePairA, Type: inspect.TypeStream, State: inspect.StateConnected, Queued: len(pairMsg)}, fds[0])
	if err != nil {
		return err
	}
	b, err := s.add(Socket{Role: RolePairB, Type: inspect.TypeStream, State: inspect.StateConnected}, fds[1])
	if err != nil {
		return err
	}
	s.link(a, b)
	return nil
}

// openStale leaves a socket file behind with nothing listening, as a
// crashed server does.
func (s *Server) openStale() error {
	path, err := s.path("stale.sock")
	if err != nil {
		return err
	}
	fd, err := socketCloexec(unix.SOCK_STREAM)
	if err != nil {
		return os.NewSyscallError("socket", withLimit(err))
	}
	err = s.bind(fd, path)
	unix.Close(fd)
	if err != nil {
		return err
	}
	s.manifest.Sockets = append(s.manifest.Sockets, Socket{Role: RoleStale, Path: path, Type: inspect.TypeStream})
	return nil
}

// startEchoStream opens echo-stream with client connected to it, and
// returns once client's echo is waiting in its receive queue.
func (s *Server) startEchoStream() error {
	path, err := s.path("echo.sock")
	if err != nil {
		return err
	}
	l, err := s.echoListener("unix", path, RoleEchoStream, inspect.TypeStream)
	if err != nil {
		return err
	}
	cfd, err := s.dial(path)
	if err != nil {
		return err
	}
	conn, err := l.AcceptUnix()
	if err != nil {
		return fmt.Errorf("testserver: accept on %q: %w", path, err)
	}
	afd, err := fdOf(conn)
	if err != nil {
		conn.Close()
		return err
	}
	s.serveConn(conn)
	a, err := s.add(Socket{Role: RoleAccepted, Path: path, Type: inspect.TypeStream, State: inspect.StateConnected}, afd)
	if err != nil {
		return err
	}
	c, err := s.add(Socket{Role: RoleClient, Type: inspect.TypeStream, State: inspect.StateConnected}, cfd)
	if err != nil {
		return err
	}
	s.link(a, c)
	s.acceptLoop(l)

	if n, err := unix.Write(cfd, []byte(echoMsg)); err != nil || n != len(echoMsg) {
		return fmt.Errorf("testserver: write to %q: wrote %d of %d bytes: %v", path, n, len(echoMsg), err)
	}
	if err := waitQueued(cfd, len(echoMsg)); err != nil {
		return fmt.Errorf("testserver: waiting for the echo from %q: %w", path, err)
	}
	s.manifest.Sockets[c].Queued = len(echoMsg)
	return nil
}

// waitQueued blocks until n bytes wait in fd's receive queue, reading
// nothing.
func waitQueued(fd, n int) error {
	tv := unix.Timeval{Sec: echoTimeout}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	buf := make([]byte, n+1)
	for {
		var got int
		// A peek waits for the first byte and then returns all that
		// is queued; the echo normally arrives in one piece.
		err := ignoringEINTR(func() (err error) {
			got, _, err = unix.Recvfrom(fd, buf, unix.MSG_PEEK)
			return err
		})
		switch {
		case err != nil:
			return os.NewSyscallError("recvfrom", err)
		case got == 0:
			return io.ErrUnexpectedEOF
		case got > n:
			return fmt.Errorf("%d bytes queued, want %d", got, n)
		case got == n:
			return nil
		}
	}
}

func (s *Server) startEchoDgram() error {
	path, err := s.path("echo-dgram.sock")
	if err != nil {
		return err
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("testserver: %w", err)
	}
	s.closers = append(s.closers, c)
	s.files = append(s.files, path)
	fd, err := fdOf(c)
	if err != nil {
		return err
	}
	if _, err := s.add(Socket{Role: RoleEchoDgram, Path: path, Type: inspect.TypeDgram, State: inspect.StateUnconnected}, fd); err != nil {
		return err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 64<<10)
		for {
			n, from, err := c.ReadFromUnix(buf)
			if err != nil {
				return // closed
			}
			// An unbound sender cannot be answered, and one that
			// went away meanwhile does not matter.
			if from != nil && from.Name != "" {
				c.WriteToUnix(buf[:n], from)
			}
		}
	}()
	return nil
}

// echoListener opens a listener through net, whose Close wakes a blocked
// Accept, and records it.
func (s *Server) echoListener(network, path string, role Role, typ inspect.Type) (*net.UnixListener, error) {
	l, err := net.ListenUnix(network, &net.UnixAddr{Name: path, Net: network})
	if err != nil {
		return nil, fmt.Errorf("testserver: %w", err)
	}
	s.closers = append(s.closers, l)
	s.files = append(s.files, path)
	fd, err := fdOf(l)
	if err != nil {
		return nil, err
	}
	_, err = s.add(Socket{Role: role, Path: path, Type: typ, State: inspect.StateListening}, fd)
	return l, err
}

// acceptLoop echoes every connection l accepts until Close.
func (s *Server) acceptLoop(l *net.UnixListener) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.AcceptUnix()
			if err != nil {
				return // closed
			}
			s.serveConn(c)
		}
	}()
}

// serveConn echoes c in a goroutine that Close stops and waits for. Reads
// and writes of the same size keep seqpacket message boundaries.
func (s *Server) serveConn(c *net.UnixConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		c.Close()
		return
	}
	s.conns[c] = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
}

// fdOf returns the descriptor behind c without duplicating it, as File
// would.
func fdOf(c syscall.Conn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("testserver: %w", err)
	}
	fd := -1
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		return -1, fmt.Errorf("testserver: %w", err)
	}
	return fd, nil
}

// reserveFDs raises RLIMIT_NOFILE so that count sets fit, the hard limit
// too if need be (which takes CAP_SYS_RESOURCE). The raised limit stays for
// the rest of the process.
func reserveFDs(count int) error {
	need := uint64(3*count + spareFDs)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("testserver: getrlimit: %w", err)
	}
	if lim.Cur >= need {
		return nil
	}
	want := syscall.Rlimit{Cur: need, Max: max(lim.Max, need)}
	err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want)
	if err == nil {
		return nil
	}
	// Without CAP_SYS_RESOURCE the hard limit stays, but the sets may
	// still fit under it; running out later is reported then.
	if sets := uint64(3 * count); sets < lim.Max {
		if lim.Cur < lim.Max {
			lim.Cur = lim.Max
			return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		}
		return nil
	}
	return fmt.Errorf("testserver: %d sets need about %d descriptors, but RLIMIT_NOFILE is %d (hard %d) and raising it failed: %w",
		count, need, lim.Cur, lim.Max, err)
}

// withLimit adds the descriptor limit to an error saying there are none
// left.
func withLimit(err error) error {
	if !errors.Is(err, unix.EMFILE) && !errors.Is(err, unix.ENFILE) {
		return err
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
		return err
	}
	return fmt.Errorf("%w (RLIMIT_NOFILE is %d)", err, lim.Cur)
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
