package platform

import (
	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/capture"
)

// FromCaptures returns a source that reads saved outputs; see capture.New
// for the specs it takes.
func FromCaptures(specs []string) (inspect.Source, error) {
	return capture.New(specs)
}
