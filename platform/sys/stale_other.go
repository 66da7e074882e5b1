//go:build !unix

package sys

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/udsls/udsls/inspect"
)

// fileTree is inspect.Files where no socket files can be searched.
type fileTree struct{}

func (*fileTree) Walk(context.Context, []string, inspect.WalkOptions) (*inspect.Walk, error) {
	return nil, fmt.Errorf("stale socket files cannot be searched for on %s", runtime.GOOS)
}

func (*fileTree) Recheck(context.Context, *inspect.FoundFile, inspect.ProbeFunc, time.Duration, bool) (inspect.ProbeResult, error) {
	return inspect.ProbeResult{}, fmt.Errorf("socket files cannot be checked on %s", runtime.GOOS)
}

// Stacked: no source here identifies a socket's bound file.
func (*fileTree) Stacked() func(uint64) inspect.Stack {
	return func(uint64) inspect.Stack { return inspect.Stack{} }
}
