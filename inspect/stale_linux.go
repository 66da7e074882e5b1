package inspect

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// O_PATH needs only search permission on the directories on the way, as
// path lookup does, and its descriptors serve openat, fstatat and unlinkat.
const parentOpenFlags = unix.O_PATH

// fdPath names a file through a directory descriptor, or the file open at
// fd itself when name is "", for calls such as connect(2) that take no
// descriptor.
func fdPath(fd int, name string) string {
	if name == "" {
		return "/proc/self/fd/" + strconv.Itoa(fd)
	}
	return "/proc/self/fd/" + strconv.Itoa(fd) + "/" + name
}

// pinFile opens name in dirfd, not following a symlink, to hold its inode.
func pinFile(dirfd int, name string) (int, error) {
	return unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

func renameNoReplace(dirfd int, from, to string) error {
	return unix.Renameat2(dirfd, from, dirfd, to, unix.RENAME_NOREPLACE)
}

// anonDev says the device is an anonymous one (major 0), as overlayfs's
// and other filesystems without a block device have.
func anonDev(dev uint64) bool { return unix.Major(dev) == 0 }
