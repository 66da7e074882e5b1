//go:build unix

package main

import (
	"os"
	"syscall"
)

// inodeOf is the inode of a file's FileInfo, 0 where the OS gives none.
func inodeOf(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
