//go:build !unix

package sys

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/udsls/udsls/inspect"
)

func Probe(context.Context, string, time.Duration) inspect.ProbeResult {
	return inspect.ProbeResult{Reach: inspect.ReachError, Err: fmt.Errorf("connect probes are not available on %s", runtime.GOOS)}
}
