package platform

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/udsls/udsls/internal/errpath"
	"github.com/udsls/udsls/platform/linux"
)

// NetnsPID is the process opts.Netns names, as a pid or as its
// <ProcRoot>/PID/ns/net (or /proc/PID/ns/net); 0 for a namespace file
// such as /var/run/netns/NAME, which names no process.
func NetnsPID(opts Options) int {
	s := opts.Netns
	for _, root := range []string{cmp.Or(opts.ProcRoot, "/proc"), "/proc"} {
		if rest, ok := strings.CutPrefix(filepath.Clean(s), filepath.Clean(root)+"/"); ok {
			if pid, ok := strings.CutSuffix(rest, "/ns/net"); ok {
				s = pid
				break
			}
		}
	}
	pid, err := strconv.Atoi(s)
	// "01" or "+1" would name a file, not a process.
	if err != nil || pid <= 0 || strconv.Itoa(pid) != s {
		return 0
	}
	return pid
}

// NetnsFile is the file of the network namespace opts.Netns names: the
// process's ns/net under ProcRoot, the file as given, or ours when
// opts.Netns is empty.
func NetnsFile(opts Options) string {
	root := cmp.Or(opts.ProcRoot, "/proc")
	if opts.Netns == "" {
		return filepath.Join(root, "self", "ns", "net")
	}
	if pid := NetnsPID(opts); pid != 0 {
		return filepath.Join(root, strconv.Itoa(pid), "ns", "net")
	}
	return opts.Netns
}

// NetnsInode is the inode of the network namespace opts.Netns names, or
// the error the listing gives for it, so that --stale and --check say the
// same of a bad --netns. Linux only.
func NetnsInode(opts Options) (uint64, error) {
	return linux.NetnsInode(opts.ProcRoot, opts.Netns)
}

// NetnsRoot says where the files of the namespace opts.Netns names are
// seen from here: mountRoot(pid) for the process it names (its root
// directory when that process is in another mount namespace, a container,
// "" for ours), "" for a namespace file, which names no process, so paths
// stay ours as `ip netns exec` keeps them.
func NetnsRoot(opts Options, mountRoot func(pid int) string) (string, error) {
	pid := NetnsPID(opts)
	if pid == 0 {
		if _, err := os.Stat(opts.Netns); err != nil {
			return "", fmt.Errorf("network namespace %q: %w", opts.Netns, errpath.Strip(err))
		}
		return "", nil
	}
	// The mount namespace must be readable, or the paths would silently
	// be judged in ours.
	if _, err := os.Readlink(filepath.Join(cmp.Or(opts.ProcRoot, "/proc"), strconv.Itoa(pid), "ns", "mnt")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("network namespace of pid %d: no such process", pid)
		}
		return "", fmt.Errorf("file system of pid %d: %w", pid, errpath.Strip(err))
	}
	return mountRoot(pid), nil
}
