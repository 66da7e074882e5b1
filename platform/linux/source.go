package linux

import (
	"cmp"
	"context"
	"os"
	"path/filepath"

	"github.com/udsls/udsls/inspect"
)

// Source reads the sockets of the caller's network namespace and the
// processes holding them from procfs.
type Source struct {
	// ProcRoot is where procfs is mounted; "/proc" when empty.
	ProcRoot string
}

// Snapshot reads <ProcRoot>/net/unix, then walks every process's fds.
// procfs tells nothing of peers, queues or bound files, so Known is empty.
func (s *Source) Snapshot(ctx context.Context) (*inspect.Snapshot, error) {
	root := cmp.Or(s.ProcRoot, "/proc")
	socks, err := readProcNetUnix(ctx, root)
	if err != nil {
		return nil, err
	}
	scan, err := scanFDs(ctx, root)
	if err != nil {
		return nil, err
	}
	return &inspect.Snapshot{
		Backend:  "procfs",
		Sockets:  socks,
		Owners:   scan.owners,
		Warnings: scan.warnings(),
	}, nil
}

// readProcNetUnix lists the sockets of the network namespace procfs shows
// through net/, which for /proc is the caller's.
func readProcNetUnix(ctx context.Context, procRoot string) ([]inspect.Socket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := filepath.Join(procRoot, "net", "unix")
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return parseProcNetUnix(data, name)
}
