package linux

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"

	"github.com/udsls/udsls/inspect"
)

// NetnsProcesses lists every process with its network namespace and
// effective uid, for the audit of abstract sockets, which anyone in their
// namespace may reach. unread counts the processes whose namespace could
// not be read (other users' processes, without CAP_SYS_PTRACE).
func (s *Source) NetnsProcesses(ctx context.Context) (procs []inspect.NetnsProcess, unread int, err error) {
	root := s.procRoot()
	d, err := os.Open(root)
	if err != nil {
		return nil, 0, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, 0, err
	}
	for _, name := range names {
		pid, ok := parseDecimal(name)
		if !ok {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		dir := filepath.Join(root, name)
		ino, err := nsInode(filepath.Join(dir, "ns", "net"))
		switch {
		case err == nil:
		case gone(err):
			continue
		default:
			unread++
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, "status"))
		if err != nil {
			if !gone(err) {
				unread++
			}
			continue
		}
		uid, ok := effectiveUID(data)
		if !ok {
			unread++
			continue
		}
		procs = append(procs, inspect.NetnsProcess{PID: pid, UID: uid, Netns: ino})
	}
	return procs, unread, nil
}

// effectiveUID is the second field of status's Uid line (real, effective,
// saved, filesystem).
func effectiveUID(status []byte) (uint32, bool) {
	for line := range bytes.Lines(status) {
		if v, ok := bytes.CutPrefix(line, []byte("Uid:")); ok {
			f := bytes.Fields(v)
			if len(f) < 2 {
				return 0, false
			}
			u, err := strconv.ParseUint(string(f[1]), 10, 32)
			return uint32(u), err == nil
		}
	}
	return 0, false
}
