//go:build !linux

package inspect

import (
	"context"
	"errors"
	"strconv"

	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/process"
)

func liveProcess(ctx context.Context, procRoot string, pid int) (Process, error) {
	if procRoot != "" {
		ctx = context.WithValue(ctx, common.EnvKey, common.EnvMap{common.HostProcEnvKey: procRoot})
	}
	p := &process.Process{Pid: int32(pid)}
	name, err := p.NameWithContext(ctx)
	if err != nil {
		return Process{}, err
	}
	uids, err := p.UidsWithContext(ctx)
	if err != nil || len(uids) == 0 {
		return Process{}, errors.New("no uid for pid " + strconv.Itoa(pid))
	}
	// Uids lists real, effective, saved; access checks use the effective one.
	uid := uids[0]
	if len(uids) > 1 {
		uid = uids[1]
	}
	return Process{PID: pid, Command: name, UID: uid}, nil
}
