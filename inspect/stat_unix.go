//go:build unix

package inspect

import (
	"errors"
	"os"
	"syscall"
)

func lstat(path string) (*FileInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return nil, errNotDir
		}
		return nil, err
	}
	st := fi.Sys().(*syscall.Stat_t)
	return &FileInfo{
		ID:      FileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)},
		Mode:    fi.Mode(),
		UID:     st.Uid,
		GID:     st.Gid,
		ModTime: fi.ModTime(),
	}, nil
}
