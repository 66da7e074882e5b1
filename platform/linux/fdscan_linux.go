package linux

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

// The walk costs one readlinkat per fd, which dominates a listing: it
// reads each fd directory with getdents and each link with readlinkat
// relative to the directory, passing the name in place in the getdents
// buffer, so nothing is allocated per fd and the kernel resolves one
// component instead of a path from the root; and the processes are spread
// over the CPUs.

// scanFDs walks <procRoot>/[pid]/fd once and keeps the fds that are
// sockets. Threads share their process's fd table, so task/ is not walked.
// Processes and fds that vanish during the walk are skipped.
func scanFDs(ctx context.Context, procRoot string) (*fdScan, error) {
	dir, err := openDir(unix.AT_FDCWD, procRoot)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: procRoot, Err: err}
	}
	defer unix.Close(dir)
	var pids []int
	buf := make([]byte, direntBufSize)
	for {
		n, err := getdents(dir, buf)
		if err != nil {
			return nil, &fs.PathError{Op: "readdirent", Path: procRoot, Err: err}
		}
		if n == 0 {
			break
		}
		for b := buf[:n]; len(b) > 0; {
			var name []byte
			if name, _, b = nextDirent(b); name == nil {
				break
			}
			if pid, ok := parseDecimal(string(name)); ok {
				pids = append(pids, pid)
			}
		}
	}
	return walkFDs(ctx, procRoot, dir, pids)
}

// spareFDs is how many more descriptors the process may open, less a
// reserve for stdio, the runtime's poller, the netlink socket and /proc.
func spareFDs() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<20 {
		return 1 << 20
	}
	return max(0, int(rl.Cur)-32)
}

// direntBufSize holds about 1300 fd entries; a directory that needs more
// takes more getdents calls, not more memory.
const direntBufSize = 32 << 10

// fdWalker walks processes on one goroutine, into buffers of its own.
type fdWalker struct {
	proc     int    // procRoot's descriptor
	procRoot string // for error messages
	dents    []byte
	link     []byte

	owners []inspect.Owner
	denied []int
	failed []pidError
}

type pidError struct {
	pid int
	err error
}

func walkFDs(ctx context.Context, procRoot string, proc int, pids []int) (*fdScan, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Below a few dozen processes a second goroutine costs more than it
	// saves. Each worker holds a descriptor open: under a low RLIMIT_NOFILE
	// (prlimit, a container) more of them would leave processes unread for
	// want of descriptors.
	workers := max(1, min(runtime.GOMAXPROCS(0), len(pids)/32, spareFDs()/2))
	ws := make([]fdWalker, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for i := range ws {
		w := &ws[i]
		w.proc, w.procRoot = proc, procRoot
		w.dents = make([]byte, direntBufSize)
		// A socket's link, "socket:[4294967295]", fits with room to spare;
		// a longer target is cut, and is no socket.
		w.link = make([]byte, 64)
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(pids) {
					return
				}
				w.process(pids[i])
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	scan := &fdScan{root: os.Geteuid() == 0}
	n := 0
	for i := range ws {
		n += len(ws[i].owners)
	}
	scan.owners = make([]inspect.Owner, 0, n)
	var denied []int
	var failed []pidError
	for i := range ws {
		scan.owners = append(scan.owners, ws[i].owners...)
		denied = append(denied, ws[i].denied...)
		failed = append(failed, ws[i].failed...)
	}
	// The lowest pids, as a sequential walk in /proc order would name them.
	slices.Sort(denied)
	scan.denied = len(denied)
	scan.deniedPIDs = denied[:min(3, len(denied))]
	if len(failed) > 0 {
		first := slices.MinFunc(failed, func(a, b pidError) int { return a.pid - b.pid })
		scan.failed, scan.err = len(failed), first.err
	}
	return scan, nil
}

// process adds the sockets of one process, and notes why it could not be
// read unless it has exited.
func (w *fdWalker) process(pid int) {
	err := w.fds(pid)
	switch {
	case err == nil || gone(err):
	case errors.Is(err, fs.ErrPermission):
		w.denied = append(w.denied, pid)
	default:
		w.failed = append(w.failed, pidError{pid, err})
	}
}

func (w *fdWalker) fds(pid int) error {
	rel := strconv.Itoa(pid) + "/fd"
	dir, err := openDir(w.proc, rel)
	if err != nil {
		return &fs.PathError{Op: "open", Path: w.procRoot + "/" + rel, Err: err}
	}
	defer unix.Close(dir)
	for {
		n, err := getdents(dir, w.dents)
		if err != nil {
			return &fs.PathError{Op: "readdirent", Path: w.procRoot + "/" + rel, Err: err}
		}
		if n == 0 {
			return nil
		}
		for b := w.dents[:n]; len(b) > 0; {
			var name, cname []byte
			if name, cname, b = nextDirent(b); name == nil {
				break
			}
			fd, ok := parseDecimal(string(name))
			if !ok {
				continue
			}
			m, err := readlinkat(dir, cname, w.link)
			if err != nil {
				if gone(err) {
					continue // closed since the listing
				}
				if err == unix.ENAMETOOLONG {
					// A file whose path passes PATH_MAX, no socket
					// ("socket:[N]"): giving up here would hide the
					// sockets at the fds after it.
					continue
				}
				return &fs.PathError{Op: "readlink", Path: w.procRoot + "/" + rel + "/" + string(name), Err: err}
			}
			if m == len(w.link) {
				continue // cut: too long for a socket
			}
			if id, ok := parseSocketLink(string(w.link[:m])); ok {
				w.owners = append(w.owners, inspect.Owner{ID: id, PID: pid, FD: fd})
			}
		}
	}
}

func openDir(at int, name string) (int, error) {
	for {
		fd, err := unix.Openat(at, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func getdents(fd int, buf []byte) (int, error) {
	for {
		n, err := unix.Getdents(fd, buf)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// readlinkat reads link cname (NUL-terminated) in directory dir into buf.
// unix.Readlinkat would copy the name into a new C string on every call.
func readlinkat(dir int, cname, buf []byte) (int, error) {
	for {
		n, _, errno := unix.Syscall6(unix.SYS_READLINKAT, uintptr(dir),
			uintptr(unsafe.Pointer(&cname[0])), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		}
		return 0, errno
	}
}
