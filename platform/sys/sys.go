// Package sys gives inspect's logic its view of the running machine:
// process metadata (from procfs on Linux, through gopsutil elsewhere),
// account names, the connect probe, file identity (lstat, statx, mount
// devices), the stale-file walker and remover, and the file facts an audit
// needs (ACLs, mount roots). It wires them into inspect's resolvers,
// checkers and auditors, whose function fields inspect leaves to the
// caller.
package sys

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/udsls/udsls/inspect"
)

// NewResolver returns a resolver of the live system, with procfs mounted
// at procRoot (Linux; ignored elsewhere): the files, processes, account
// names and connect probe of this machine.
func NewResolver(procRoot string) *inspect.Resolver {
	r := inspect.NewResolver(procRoot)
	r.Lstat = Lstat
	r.Files = &fileTree{}
	r.Process = func(ctx context.Context, pid int) (inspect.Process, error) {
		return Process(ctx, procRoot, pid)
	}
	r.UserName = UserName
	r.GroupName = GroupName
	r.Probe = Probe
	return r
}

// NewChecker returns inspect.NewChecker(r) resolving symlinks on this
// machine.
func NewChecker(r *inspect.Resolver) *inspect.Checker {
	c := inspect.NewChecker(r)
	c.EvalSymlinks = EvalSymlinks
	return c
}

// EvalSymlinks is filepath.EvalSymlinks, with inspect.ErrNotDir wrapped
// in where a component of the path is not a directory.
func EvalSymlinks(p string) (string, error) {
	s, err := filepath.EvalSymlinks(p)
	if errors.Is(err, syscall.ENOTDIR) {
		err = fmt.Errorf("%w: %w", inspect.ErrNotDir, err)
	}
	return s, err
}

// NewAuditor returns an auditor of the live system whose resolver is
// NewResolver's, and which looks for ACLs and mount roots where it can.
func NewAuditor(procRoot string) *inspect.Auditor {
	a := inspect.NewAuditor(procRoot)
	a.Resolver = NewResolver(procRoot)
	a.HasACL = hasACL
	a.MountRoot = isMountRoot
	return a
}

// UserName names uid, "" when it has no name.
func UserName(uid uint32) string {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return ""
	}
	return u.Username
}

// GroupName names gid, "" when it has no name.
func GroupName(gid uint32) string {
	g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10))
	if err != nil {
		return ""
	}
	return g.Name
}
