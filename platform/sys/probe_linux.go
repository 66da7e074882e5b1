package sys

import (
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// longAbstract reports an abstract name of 107 bytes after its NUL, the
// longest Linux takes (unix_mkname_bsd in net/unix/af_unix.c), which
// x/sys/unix refuses because it leaves no room for a NUL it does not send.
func longAbstract(name string) bool {
	return len(name) == len(unix.RawSockaddrUnix{}.Path) && name[0] == '@'
}

// connectName connects fd to a socket path or "@" abstract name.
func connectName(fd int, name string) error {
	if !longAbstract(name) {
		return unix.Connect(fd, &unix.SockaddrUnix{Name: name})
	}
	var sa unix.RawSockaddrUnix
	sa.Family = unix.AF_UNIX
	for i := 1; i < len(name); i++ {
		sa.Path[i] = int8(name[i])
	}
	_, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	if errno != 0 {
		return errno
	}
	return nil
}

// shortName gives a name connect(2) takes for the file at path, which is
// too long for a socket address: /proc/self/fd/N of an O_PATH descriptor
// of it. Opening it follows symlinks and searches every directory as the
// connect would, and the connect then checks write permission on the
// socket itself, so the verdict is the one a client gets. done closes the
// descriptor.
func shortName(path string) (name string, done func(), err error) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		return "", nil, unix.ENAMETOOLONG // no procfs: no shorter name
	}
	fd, err := openPath(path)
	if err != nil {
		return "", nil, err
	}
	return "/proc/self/fd/" + strconv.Itoa(fd), func() { unix.Close(fd) }, nil
}

// openPath opens path with O_PATH, beyond PATH_MAX too: a path that long
// is opened a directory at a time, each part shorter than PATH_MAX.
func openPath(path string) (int, error) {
	const flags = unix.O_PATH | unix.O_CLOEXEC
	dir, rest := unix.AT_FDCWD, path
	for {
		if len(rest) < unix.PathMax {
			fd, err := unix.Openat(dir, rest, flags, 0)
			if dir != unix.AT_FDCWD {
				unix.Close(dir)
			}
			return fd, err
		}
		cut := strings.LastIndexByte(rest[:unix.PathMax-1], '/')
		if cut < 0 {
			if dir != unix.AT_FDCWD {
				unix.Close(dir)
			}
			return -1, unix.ENAMETOOLONG // one component longer than any name
		}
		part := rest[:cut]
		if cut == 0 {
			part = "/"
		}
		fd, err := unix.Openat(dir, part, flags|unix.O_DIRECTORY, 0)
		if dir != unix.AT_FDCWD {
			unix.Close(dir)
		}
		if err != nil {
			return -1, err
		}
		dir, rest = fd, strings.TrimLeft(rest[cut+1:], "/")
		if rest == "" {
			rest = "."
		}
	}
}
