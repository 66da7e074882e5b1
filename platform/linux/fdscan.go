package linux

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/udsls/udsls/inspect"
)

// fdScan is what one walk of the processes' fd tables found.
type fdScan struct {
	owners []inspect.Owner
	// denied counts processes whose fds we may not read; failed those that
	// could not be read for another reason, the first of which is err.
	denied, failed int
	err            error
	// deniedPIDs names the first few denied processes: as root a denial
	// comes from policy (ptrace scope, an LSM, another user namespace's
	// init), and the pid tells the user which holder is hidden.
	deniedPIDs []int
	root       bool
}

// warnings says, one line each, which processes the walk had to leave out.
func (s *fdScan) warnings() []string {
	var w []string
	switch {
	case s.denied > 0 && s.root:
		pids := make([]string, len(s.deniedPIDs))
		for i, p := range s.deniedPIDs {
			pids[i] = strconv.Itoa(p)
		}
		more := ""
		if s.denied > len(pids) {
			more = ", ..."
		}
		w = append(w, fmt.Sprintf("%s unreadable even as root (permission denied: pid %s%s); their sockets show no owner", processes(s.denied), strings.Join(pids, ", "), more))
	case s.denied > 0:
		w = append(w, processes(s.denied)+" unreadable (permission denied); run as root for all owners")
	}
	if s.failed > 0 {
		w = append(w, fmt.Sprintf("%s unreadable: %v", processes(s.failed), s.err))
	}
	return w
}

func processes(n int) string {
	if n == 1 {
		return "1 process"
	}
	return strconv.Itoa(n) + " processes"
}

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

// gone reports an error saying the process or fd no longer exists.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

// parseSocketLink reads the target of an fd link to a socket, "socket:[N]"
// (fs/proc/fd.c via sockfs_dname in net/socket.c).
func parseSocketLink(link string) (inspect.SocketID, bool) {
	rest, ok := strings.CutPrefix(link, "socket:[")
	if !ok {
		return 0, false
	}
	n, ok := strings.CutSuffix(rest, "]")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(n, 10, 64)
	if err != nil {
		return 0, false
	}
	return inspect.SocketID(v), true
}

// parseDecimal parses a pid or fd directory entry; other entries are not
// processes or fds.
func parseDecimal(s string) (int, bool) {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false // Atoi would take a sign
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	return n, true
}
