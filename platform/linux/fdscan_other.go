//go:build !linux

package linux

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/udsls/udsls/inspect"
)

// The fd walk with the os package, for systems that are not Linux but may
// read a Linux procfs tree (a copy, or a test's fake one). Linux has its
// own in fdscan_linux.go.

// scanFDs walks <procRoot>/[pid]/fd once and keeps the fds that are
// sockets. Threads share their process's fd table, so task/ is not walked.
// Processes and fds that vanish during the walk are skipped.
func scanFDs(ctx context.Context, procRoot string) (*fdScan, error) {
	d, err := os.Open(procRoot)
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	scan := &fdScan{root: os.Geteuid() == 0}
	for _, name := range names {
		pid, ok := parseDecimal(name)
		if !ok {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := scan.process(procRoot+"/"+name+"/fd/", pid); err != nil && !gone(err) {
			if errors.Is(err, fs.ErrPermission) {
				scan.denied++
				if len(scan.deniedPIDs) < 3 {
					scan.deniedPIDs = append(scan.deniedPIDs, pid)
				}
				continue
			}
			if scan.failed == 0 {
				scan.err = err
			}
			scan.failed++
		}
	}
	return scan, nil
}

// process adds the sockets in one fd directory (dir ends in a slash).
func (s *fdScan) process(dir string, pid int) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	fds, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, name := range fds {
		fd, ok := parseDecimal(name)
		if !ok {
			continue
		}
		link, err := os.Readlink(dir + name)
		if err != nil {
			if gone(err) {
				continue // closed since the listing
			}
			return err
		}
		if id, ok := parseSocketLink(link); ok {
			s.owners = append(s.owners, inspect.Owner{ID: id, PID: pid, FD: fd})
		}
	}
	return nil
}
