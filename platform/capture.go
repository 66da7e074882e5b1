package platform

import (
	"errors"

	"github.com/udsls/udsls/inspect"
)

// FromCaptures returns a source that reads saved outputs, each spec being
// KIND:FILE with KIND one of lsof, netstat or procnet.
func FromCaptures(specs []string) (inspect.Source, error) {
	return nil, errors.New("--from is not implemented yet")
}
