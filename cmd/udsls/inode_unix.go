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

// fileDevIno is the device and inode of a file's FileInfo, zero where the
// OS gives none.
func fileDevIno(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}
