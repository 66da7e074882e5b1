package testutil

import (
	"net"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// FullListener opens a listener with backlog 1 that never accepts and
// connects to it until the kernel refuses more: its queue is then full.
// Everything is closed when the test ends.
func FullListener(t testing.TB, path string) {
	t.Helper()
	fd := ListenRaw(t, path, 1)
	t.Cleanup(func() { unix.Close(fd) })
	for {
		c, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(c) })
		if err := unix.Connect(c, &unix.SockaddrUnix{Name: path}); err != nil {
			return
		}
	}
}

// FDInode is the inode of the file descriptor fd refers to: a socket's
// inode is the number the kernel lists it by.
func FDInode(t testing.TB, fd int) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// HeldListener binds a stream listener at path and hands it to a process
// of its own (sleep), which holds it until the test ends; it returns that
// process's pid. The test's own process no longer holds it.
func HeldListener(t testing.TB, path string) int {
	t.Helper()
	ln := Listen(t, "unix", path)
	// The file stays: the socket is the holder's now.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	defer ln.Close()
	f, err := ln.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("sleep", "600")
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd.Process.Pid
}
