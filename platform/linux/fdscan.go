package linux

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"syscall"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/internal/ascii"
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
	// hidden is the hidepid option of a procfs that hides other users'
	// processes from us altogether, and procRoot where it is mounted.
	hidden, procRoot string
	// bpf says the BPF iterator found the owners, not the walk.
	bpf bool
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
	case s.hidden != "":
		// The walk cannot count what it cannot see; say why holders are
		// missing once, whatever else was denied.
		w = append(w, fmt.Sprintf("other users' processes are hidden (%s is mounted with hidepid=%s); their sockets show no owner; run as root for all owners", s.procRoot, s.hidden))
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
	if !ascii.Digits(s) {
		return 0, false // Atoi would take a sign
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	return n, true
}

// nextDirent splits the first struct linux_dirent64 off a getdents64
// buffer (include/linux/dirent.h: ino u64, off s64, reclen u16, type u8,
// then the NUL-terminated name, padded). name is the name, cname the name
// with its NUL; a record that does not fit gives nil.
func nextDirent(b []byte) (name, cname, rest []byte) {
	const nameAt = 19
	if len(b) < nameAt+1 {
		return nil, nil, nil
	}
	reclen := int(binary.NativeEndian.Uint16(b[16:]))
	if reclen < nameAt+1 || reclen > len(b) {
		return nil, nil, nil
	}
	n := bytes.IndexByte(b[nameAt:reclen], 0)
	if n < 0 {
		return nil, nil, nil
	}
	return b[nameAt : nameAt+n], b[nameAt : nameAt+n+1], b[reclen:]
}
