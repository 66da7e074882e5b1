package linux

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// nsInode is the inode of the namespace a /proc/<pid>/ns/* link names:
// stat follows the link into nsfs, whose inode numbers are the namespaces'
// ids (the N of "net:[N]").
func nsInode(name string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(name, &st); err != nil {
		return 0, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return st.Ino, nil
}

// openNetns opens a file naming a network namespace (a /proc/<pid>/ns/net
// link, or a bind mount of one such as /var/run/netns/NAME) and returns it
// with the namespace's inode.
func openNetns(name string) (*os.File, uint64, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	// NS_GET_NSTYPE (Linux 4.11) fails on anything but an nsfs file.
	t, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if err != nil || t != unix.CLONE_NEWNET {
		f.Close()
		return nil, 0, fmt.Errorf("%q is not a network namespace", name)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, 0, &fs.PathError{Op: "fstat", Path: name, Err: err}
	}
	return f, st.Ino, nil
}

// inNetns runs fn on an OS thread that has entered the network namespace
// ns names, then brings the thread back. Sockets fn creates belong to that
// namespace for their whole life, wherever they are used from. The thread
// is locked to fn's goroutine throughout, so no other goroutine runs in the
// wrong namespace. It must come back rather than die locked: the runtime
// does end such a thread, except the main thread, which it parks for good,
// and /proc/self/ns/net (the main thread's) would then name the foreign
// namespace for the rest of the process.
func inNetns(ns *os.File, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- &enterError{err}
			return
		}
		defer home.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- &enterError{os.NewSyscallError("setns", err)}
			return
		}
		err = fn()
		// Should the way back fail, the goroutine ends locked and takes
		// the thread with it.
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}
