//go:build unix

package containers

import (
	"os"
	"syscall"
)

// socketOwner is the owner of the file at p, symlinks followed.
func socketOwner(p string) (uint32, bool) {
	if p == "" {
		return 0, false
	}
	fi, err := os.Stat(p)
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Uid, true
}
