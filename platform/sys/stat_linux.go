package sys

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

// statAt examines name in the directory open at dirfd (AT_FDCWD for a
// path), or the file open at dirfd itself when name is "", without
// following a final symlink, and returns it with its status change time.
//
// The device is that of the file's superblock, as /proc/self/mountinfo
// lists it for the file's mount: sock_diag reports a bound socket's file by
// that device (unix_diag_vfs holds d_sb->s_dev), while stat(2) reports
// another on btrfs (each subvolume has an anonymous device of its own) and
// on overlayfs (the upper layer's or a per-layer device), so that stat's
// would never match the live socket's. Inode numbers agree. statx's
// STATX_MNT_ID (Linux 5.8) names the mount; without it, or when the mount
// cannot be found, stat's device is kept, as before.
//
// root is where the path is seen from, /proc/PID/root or "": a mount in
// another mount namespace is listed only in that process's mountinfo.
// fresh rereads mountinfo instead of trusting what was read before: a
// mount id is reused once its mount is gone, and the caller of a removal
// holds the file open, which keeps its mount, and so its id, alive.
func statAt(dirfd int, name, root string, fresh bool) (*inspect.FileInfo, time.Time, error) {
	flags := unix.AT_SYMLINK_NOFOLLOW
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	var sx unix.Statx_t
	if err := unix.Statx(dirfd, name, flags, unix.STATX_BASIC_STATS|unix.STATX_MNT_ID, &sx); err != nil {
		return nil, time.Time{}, err
	}
	dev := unix.Mkdev(sx.Dev_major, sx.Dev_minor)
	if sx.Mask&unix.STATX_MNT_ID != 0 {
		if d, ok := mountDev(sx.Mnt_id, root, fresh); ok {
			dev = d
		}
	}
	fi := &inspect.FileInfo{
		ID:      inspect.FileID{Dev: dev, Ino: sx.Ino},
		Mode:    statMode(uint32(sx.Mode)),
		UID:     sx.Uid,
		GID:     sx.Gid,
		ModTime: time.Unix(sx.Mtime.Sec, int64(sx.Mtime.Nsec)),
	}
	return fi, time.Unix(sx.Ctime.Sec, int64(sx.Ctime.Nsec)), nil
}

// procRootRE finds the /proc/PID/root a path is seen through. Only /proc
// itself: a directory named like it elsewhere may hold any mountinfo.
var procRootRE = regexp.MustCompile(`^(/proc/[0-9]+)/root(?:/|$)`)

// rootOf is the /proc/PID/root prefix of path, "" when it has none.
func rootOf(path string) string {
	if m := procRootRE.FindStringSubmatch(path); m != nil {
		return m[1] + "/root"
	}
	return ""
}

// mounts caches, for each mountinfo file, mount id to superblock device.
var mounts struct {
	sync.Mutex
	tables map[string]*mountTable
}

// mountTable is one mountinfo file as last read, and the file kept open
// to learn when the mount table changes: a mount id is given again to a
// new mount once its own is gone, so a table read before an unmount may
// name another device for it.
type mountTable struct {
	f *os.File
	// fd is f's descriptor, taken once: each f.Fd() costs an fcntl, and
	// changed runs for every file examined.
	fd   int32
	devs map[uint64]uint64
	size int // of the text last read
	// missed are ids looked for in vain since the last read: another
	// namespace's, not read again for each of their files.
	missed map[uint64]bool
	// pidfd is the process whose table this is, -1 for ours. An open
	// mountinfo keeps its mount namespace, and every mount in it, alive
	// after the process is gone: a dead container's filesystems stayed
	// mounted (its devices busy) for as long as a watch or an exporter
	// ran. The file is closed once the process is gone, or at once where
	// no pidfd tells when.
	pidfd int
}

// close closes what the table holds open.
func (t *mountTable) close() {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
	if t.pidfd >= 0 {
		unix.Close(t.pidfd)
		t.pidfd = -1
	}
}

// newMountTable starts the table of mountinfo file name: ours, or that of
// process pid.
func newMountTable(name string, pid int) *mountTable {
	t := &mountTable{pidfd: -1}
	if pid > 0 {
		// Before the file is opened: a pid reused in between leaves a
		// pidfd of a process already gone, and the table is dropped.
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			t.pidfd = fd
		}
	}
	return t
}

// keeps says whether the table's file may stay open after a read.
func (t *mountTable) keeps(self bool) bool { return self || t.pidfd >= 0 }

// sweepMountTables drops the tables of processes that have exited: a
// pidfd is readable then.
func sweepMountTables() {
	var fds []unix.PollFd
	var names []string
	for name, t := range mounts.tables {
		if t.pidfd >= 0 {
			fds = append(fds, unix.PollFd{Fd: int32(t.pidfd), Events: unix.POLLIN})
			names = append(names, name)
		}
	}
	if len(fds) == 0 {
		return
	}
	if n, err := unix.Poll(fds, 0); err != nil || n == 0 {
		return
	}
	for i, fd := range fds {
		if fd.Revents != 0 {
			mounts.tables[names[i]].close()
			delete(mounts.tables, names[i])
		}
	}
}

// changed reports a change of the mount table since the file was opened
// or last polled: mountinfo signals POLLPRI then (proc_pid_mountinfo(5)).
func (t *mountTable) changed() bool {
	fds := []unix.PollFd{{Fd: t.fd, Events: unix.POLLPRI}}
	n, err := unix.Poll(fds, 0)
	return err != nil || (n > 0 && fds[0].Revents != 0)
}

// reread opens the file anew, which arms the poll at the current table,
// and then reads it.
func (t *mountTable) reread(name string) error {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	// Each read(2) of mountinfo lists the mounts under the namespace's
	// lock, but a table read in several may miss a mount that others'
	// mounts and unmounts moved meanwhile: one read, if the buffer holds
	// it all.
	data, err := readWhole(f, max(t.size*2, 256<<10))
	if err != nil {
		f.Close()
		return err
	}
	t.f, t.fd, t.devs, t.size, t.missed = f, int32(f.Fd()), parseMountinfo(data), len(data), nil
	return nil
}

// readWhole reads f to its end, starting with a buffer of size.
func readWhole(f *os.File, size int) ([]byte, error) {
	buf := make([]byte, 0, size)
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF || (err == nil && n == 0) {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

const maxMountTables = 32

// mountDev is the superblock device of mount id, looked up in our
// mountinfo, then in that of root's process.
func mountDev(id uint64, root string, fresh bool) (uint64, bool) {
	mounts.Lock()
	defer mounts.Unlock()
	if mounts.tables == nil {
		mounts.tables = map[string]*mountTable{}
	}
	files := []string{"/proc/self/mountinfo"}
	pid := 0
	if m := procRootRE.FindStringSubmatch(root); m != nil {
		files = append(files, m[1]+"/mountinfo")
		pid, _ = strconv.Atoi(m[1][len("/proc/"):])
	}
	sweepMountTables()
	if len(mounts.tables) > maxMountTables {
		// Each is an open file: other processes' tables are read again
		// rather than kept without bound.
		for name, t := range mounts.tables {
			if name != files[0] {
				t.close()
				delete(mounts.tables, name)
			}
		}
	}
	for i, name := range files {
		self := i == 0
		t := mounts.tables[name]
		if t == nil {
			if self {
				t = newMountTable(name, 0)
			} else {
				t = newMountTable(name, pid)
			}
			mounts.tables[name] = t
		}
		reread := t.f == nil || fresh || t.changed()
		if reread {
			if err := t.reread(name); err != nil {
				t.close()
				delete(mounts.tables, name)
				continue
			}
			if !t.keeps(self) {
				t.f.Close()
				t.f = nil
			}
		}
		if d, ok := t.devs[id]; ok {
			return d, true
		}
		// The file's mount is there, since we just reached the file
		// through it, unless it is another namespace's: a table that
		// lacks it may have been read across a change.
		if !reread && !t.missed[id] && t.reread(name) == nil {
			if d, ok := t.devs[id]; ok {
				return d, true
			}
		}
		if t.missed == nil {
			t.missed = map[uint64]bool{}
		}
		t.missed[id] = true
	}
	return 0, false
}

// parseMountinfo maps mount ids to devices: the first and third fields of
// each line (proc_pid_mountinfo(5)), "36 35 98:0 /mnt1 /mnt2 ...".
func parseMountinfo(data []byte) map[uint64]uint64 {
	devs := map[uint64]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 3 {
			continue
		}
		id, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			continue
		}
		maj, min, ok := bytes.Cut(f[2], []byte(":"))
		if !ok {
			continue
		}
		ma, err1 := strconv.ParseUint(string(maj), 10, 32)
		mi, err2 := strconv.ParseUint(string(min), 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		devs[id] = unix.Mkdev(uint32(ma), uint32(mi))
	}
	return devs
}
