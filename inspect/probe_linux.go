package inspect

import (
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
