package platform

import (
	"fmt"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/darwin"
)

// Default returns the live source for this operating system. macOS has
// one, lsof with netstat; ProcRoot has no meaning here.
func Default(opts Options) (inspect.Source, error) {
	if opts.Source != "" {
		return nil, fmt.Errorf("--source %q: macOS has only the lsof+netstat source", opts.Source)
	}
	return darwin.New(), nil
}
