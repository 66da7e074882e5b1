package platform

import (
	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/darwin"
)

// Default returns the live source for this operating system. macOS has
// one data source, so the options do not apply.
func Default(Options) (inspect.Source, error) {
	return darwin.New(), nil
}
