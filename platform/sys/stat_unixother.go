//go:build unix && !linux

package sys

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

// statAt examines name in the directory open at dirfd, or the file open at
// dirfd when name is "", without following a final symlink. Only Linux
// reports bound sockets' files, so stat's device is the identity here.
func statAt(dirfd int, name, _ string, _ bool) (*inspect.FileInfo, time.Time, error) {
	var st unix.Stat_t
	var err error
	if name == "" {
		err = unix.Fstat(dirfd, &st)
	} else {
		err = unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	fi := statFileInfo(&st)
	return &fi, ctime(&st), nil
}

func rootOf(string) string { return "" }

func statFileInfo(st *unix.Stat_t) inspect.FileInfo {
	return inspect.FileInfo{
		ID:      inspect.FileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)},
		Mode:    statMode(uint32(st.Mode)),
		UID:     st.Uid,
		GID:     st.Gid,
		ModTime: time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)),
	}
}

func ctime(st *unix.Stat_t) time.Time {
	return time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec))
}
