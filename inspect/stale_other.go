//go:build !unix

package inspect

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

func walkSockets(context.Context, []string, *StaleOptions, *StaleReport) ([]StaleFile, error) {
	return nil, fmt.Errorf("stale socket files cannot be searched for on %s", runtime.GOOS)
}

func checkStale(context.Context, *StaleFile, time.Duration, bool) (ProbeResult, error) {
	return ProbeResult{}, fmt.Errorf("socket files cannot be checked on %s", runtime.GOOS)
}

// stackedDevs: no source here identifies a socket's bound file.
func stackedDevs() func(uint64) bool { return func(uint64) bool { return false } }
