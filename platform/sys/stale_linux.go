package sys

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
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

// stackedDevs tells the devices that may be a stacking filesystem's
// (overlayfs, FUSE, eCryptfs), whose files are another filesystem's seen
// through it: anonymous devices (major 0) that no mountinfo lists as
// another kind (tmpfs, btrfs), ours first, then other mount namespaces'
// when a device is not in ours. For an overlay our mountinfo lists it
// tells the devices of its layers, when they can be known for certain;
// another namespace's shows paths as seen there, and stays unknown.
func stackedDevs() func(uint64) inspect.Stack {
	st := &stacks{plain: map[uint64]bool{}, overlays: map[uint64]string{}, roots: map[uint64][]string{}, memo: map[uint64]inspect.Stack{}}
	if data, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		st.addMounts(data, true)
	}
	return func(dev uint64) inspect.Stack { return st.stack(dev, 0) }
}

// addMounts records the plain filesystems' devices of a mountinfo, and
// with ours its overlays' options.
func (s *stacks) addMounts(data []byte, ours bool) {
	for line := range bytes.Lines(data) {
		f := bytes.Fields(line)
		sep := slices.IndexFunc(f, func(b []byte) bool { return string(b) == "-" })
		if len(f) < 3 || sep < 0 || sep+1 >= len(f) {
			continue
		}
		maj, min, ok := bytes.Cut(f[2], []byte(":"))
		ma, err1 := strconv.ParseUint(string(maj), 10, 32)
		mi, err2 := strconv.ParseUint(string(min), 10, 32)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		dev := unix.Mkdev(uint32(ma), uint32(mi))
		switch fstype := string(f[sep+1]); {
		case fstype == "overlay":
			if !ours {
				continue
			}
			opts := `\` // unparseable: no super options
			if sep+3 < len(f) {
				opts = string(f[sep+3])
			}
			if prev, seen := s.overlays[dev]; seen && prev != opts {
				opts = `\` // one superblock shown with two sets of layers
			}
			s.overlays[dev] = opts
			if sep > 4 && string(f[3]) == "/" {
				if mp, ok := unescapeOctal(string(f[4])); ok {
					s.roots[dev] = append(s.roots[dev], mp)
				}
			}
		case fstype == "ecryptfs" || fstype == "shiftfs" || fstype == "fuse" || strings.HasPrefix(fstype, "fuse."):
		default:
			s.plain[dev] = true
		}
	}
}

// addOtherMounts records the plain filesystems of the other mount
// namespaces, once: a tmpfs a container mounted is no stacking one.
func (s *stacks) addOtherMounts() {
	if s.others {
		return
	}
	s.others = true
	ours, _ := os.Readlink("/proc/self/ns/mnt")
	seen := map[string]bool{ours: true}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if p.Name()[0] < '0' || p.Name()[0] > '9' {
			continue
		}
		ns, err := os.Readlink("/proc/" + p.Name() + "/ns/mnt")
		if err != nil || seen[ns] {
			continue
		}
		seen[ns] = true
		if data, err := os.ReadFile("/proc/" + p.Name() + "/mountinfo"); err == nil {
			s.addMounts(data, false)
		}
	}
}

// sharedFS names the filesystem of the directory open at fd when its
// files may be another kernel's or another filesystem's seen through it:
// a socket bound there through the other view holds another inode (or
// lives on another machine), so a connect here is refused while it
// lives, and an unlink here deletes its file. "" for the others.
func sharedFS(fd int) string {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return ""
	}
	switch uint32(st.Type) {
	case unix.FUSE_SUPER_MAGIC:
		return "a FUSE filesystem"
	case unix.NFS_SUPER_MAGIC:
		return "NFS"
	case unix.SMB_SUPER_MAGIC, unix.SMB2_SUPER_MAGIC, unix.CIFS_SUPER_MAGIC:
		return "an SMB filesystem"
	case unix.V9FS_MAGIC:
		return "a 9p filesystem"
	case unix.CEPH_SUPER_MAGIC:
		return "Ceph"
	case unix.AFS_SUPER_MAGIC, unix.AFS_FS_MAGIC:
		return "AFS"
	}
	return ""
}
