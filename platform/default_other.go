//go:build !linux && !darwin

package platform

import (
	"fmt"
	"runtime"

	"github.com/udsls/udsls/inspect"
)

// Default returns the live source for this operating system.
func Default(Options) (inspect.Source, error) {
	return nil, fmt.Errorf("no live socket source for %s/%s; analyse a capture with --from", runtime.GOOS, runtime.GOARCH)
}
