package platform

import (
	"cmp"
	"fmt"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/linux"
)

// Default returns the live source for this operating system.
func Default(opts Options) (inspect.Source, error) {
	src := &linux.Source{ProcRoot: cmp.Or(opts.ProcRoot, "/proc"), AllNetns: opts.AllNetns, Netns: opts.Netns, Exhaustive: opts.Exhaustive}
	src.Kept = opts.Kept
	if opts.Keep && src.Kept == nil {
		src.Kept = &linux.Kept{}
	}
	switch opts.Source {
	case "":
		src.Sockets = linux.SocketsAuto
	case "netlink":
		src.Sockets = linux.SocketsNetlink
	case "procfs":
		src.Sockets = linux.SocketsProcfs
	default:
		return nil, fmt.Errorf("unknown source %q (want netlink or procfs)", opts.Source)
	}
	switch opts.FDSource {
	case "", "auto":
		src.FDs = linux.FDsAuto
	case "bpf":
		src.FDs = linux.FDsBPF
	case "procfs":
		src.FDs = linux.FDsProcfs
	default:
		return nil, fmt.Errorf("unknown fd source %q (want auto, bpf or procfs)", opts.FDSource)
	}
	return src, nil
}
