//go:build !linux

package linux

import (
	"context"
	"fmt"
	"runtime"

	"github.com/udsls/udsls/inspect"
)

// DumpUnix fails: sock_diag is Linux's. The package builds elsewhere so
// that its parsers serve saved captures.
func DumpUnix(context.Context) ([]inspect.Socket, error) {
	return nil, fmt.Errorf("%w on %s/%s", ErrNetlinkUnavailable, runtime.GOOS, runtime.GOARCH)
}
