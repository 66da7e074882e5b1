//go:build !unix

package inspect

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

func probe(context.Context, string, time.Duration) ProbeResult {
	return ProbeResult{Reach: ReachError, Err: fmt.Errorf("connect probes are not available on %s", runtime.GOOS)}
}
