//go:build !linux

package sys

import (
	"context"
	"errors"
	"strconv"

	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/process"

	"github.com/udsls/udsls/inspect"
)

// Process gives a process's command and effective uid through gopsutil.
func Process(ctx context.Context, procRoot string, pid int) (inspect.Process, error) {
	if procRoot != "" {
		ctx = context.WithValue(ctx, common.EnvKey, common.EnvMap{common.HostProcEnvKey: procRoot})
	}
	p := &process.Process{Pid: int32(pid)}
	name, err := p.NameWithContext(ctx)
	if err != nil {
		return inspect.Process{}, err
	}
	uids, err := p.UidsWithContext(ctx)
	if err != nil || len(uids) == 0 {
		return inspect.Process{}, errors.New("no uid for pid " + strconv.Itoa(pid))
	}
	// Uids lists real, effective, saved; access checks use the effective one.
	uid := uids[0]
	if len(uids) > 1 {
		uid = uids[1]
	}
	return inspect.Process{PID: pid, Command: name, UID: uid}, nil
}
