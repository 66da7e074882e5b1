package platform

import (
	"cmp"
	"errors"
	"fmt"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/linux"
)

// Default returns the live source for this operating system.
func Default(opts Options) (inspect.Source, error) {
	switch opts.Source {
	case "", "procfs":
		return &linux.Source{ProcRoot: cmp.Or(opts.ProcRoot, "/proc")}, nil
	case "netlink":
		return nil, errors.New("the netlink source is unavailable in this build; use --source procfs")
	}
	return nil, fmt.Errorf("unknown source %q (want netlink or procfs)", opts.Source)
}
