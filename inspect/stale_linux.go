package inspect

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// O_PATH needs only search permission on the directories on the way, as
// path lookup does, and its descriptors serve openat, fstatat and unlinkat.
const parentOpenFlags = unix.O_PATH

// fdPath names a file through a directory descriptor, for calls such as
// connect(2) that take no descriptor.
func fdPath(dirfd int, name string) string {
	return "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + name
}
