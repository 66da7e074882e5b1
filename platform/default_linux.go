package platform

import (
	"errors"

	"github.com/udsls/udsls/inspect"
)

// Default returns the live source for this operating system.
func Default(Options) (inspect.Source, error) {
	return nil, errors.New("the Linux backend is not implemented yet")
}
