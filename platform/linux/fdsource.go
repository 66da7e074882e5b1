package linux

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/linux/bpf"
)

// FDSource says how a Source finds the processes holding each socket.
type FDSource int

const (
	// FDsProcfs walks <ProcRoot>/[pid]/fd: one readlink per descriptor.
	FDsProcfs FDSource = iota
	// FDsBPF runs a BPF iterator over every process's descriptors, and
	// fails, wrapping bpf.ErrUnavailable, where it cannot be loaded. It
	// ignores ProcRoot: the kernel answers for the caller's pid namespace.
	FDsBPF
	// FDsAuto runs the iterator where it may be loaded and is expected to
	// be faster than the walk, and walks /proc otherwise, silently.
	FDsAuto
)

// String names the source as --fd-source and Snapshot.FDSource do.
func (f FDSource) String() string {
	switch f {
	case FDsProcfs:
		return "procfs"
	case FDsBPF:
		return "bpf"
	case FDsAuto:
		return "auto"
	}
	return fmt.Sprintf("FDSource(%d)", int(f))
}

// Loading and attaching the iterator costs about 25 ms of CPU, most of it
// cilium/ebpf parsing the kernel's BTF to fit the program to this kernel;
// after that it costs about 0.8 µs of CPU per socket against 2.4 µs for
// the walk (BenchmarkFDSources), but the walk runs on every CPU while the
// iterator runs on one. Whole listings alternating on 2 CPUs broke even
// near 8.5k sockets on a machine at load 4-5 and near 12k at load 10
// (interpolated). The number of open files the kernel counts
// (/proc/sys/fs/file-nr) decides, without walking anything.
const bpfMinFiles = 10000

// scanHolders finds the holders of sockets with the source s asks for.
func (s *Source) scanHolders(ctx context.Context, root string) (*fdScan, error) {
	switch s.FDs {
	case FDsProcfs:
		return scanFDs(ctx, root)
	case FDsBPF:
		if !bpf.MayLoad() {
			return nil, fmt.Errorf("--fd-source bpf: %w: loading the iterator needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN (run as root)", bpf.ErrUnavailable)
		}
		if !initialNS("/proc", "user") {
			return nil, fmt.Errorf("--fd-source bpf: %w: udsls runs in a user namespace of its own, whose capabilities do not let it load BPF", bpf.ErrUnavailable)
		}
		return s.scanBPF(ctx)
	case FDsAuto:
		if s.bpfWorthIt(root) {
			if scan, err := s.scanBPF(ctx); err == nil || ctx.Err() != nil {
				return scan, err
			}
		}
		return scanFDs(ctx, root)
	}
	return nil, fmt.Errorf("unknown fd source %d", s.FDs)
}

// bpfWorthIt says whether the iterator may run and is expected to beat the
// walk of procfs at root.
func (s *Source) bpfWorthIt(root string) bool {
	// Another procfs may show another pid namespace's processes, which
	// the iterator cannot list.
	if abs, err := filepath.Abs(root); err != nil || abs != "/proc" {
		return false
	}
	// file-nr counts the files of the whole machine; in a pid namespace
	// of its own (a container) both sources see only its processes,
	// usually few.
	if !bpf.MayLoad() || !initialNS(root, "pid") || !initialNS(root, "user") {
		return false
	}
	files, ok := openFiles(root)
	return ok && files >= s.bpfMinFiles()
}

func (s *Source) bpfMinFiles() int {
	switch {
	case s.bpfThreshold != 0:
		return s.bpfThreshold
	case s.Kept != nil:
		return 0 // loaded once, the iterator beats the walk at any size
	}
	return bpfMinFiles
}

// initialNS says whether the caller is in the machine's initial namespace
// of a kind: a pid namespace of its own sees few processes, and a user
// namespace's capabilities do not let it load BPF. The initial ones have
// fixed inodes (PROC_PID_INIT_INO and PROC_USER_INIT_INO in
// include/linux/proc_ns.h).
func initialNS(root, kind string) bool {
	want := map[string]string{"pid": "pid:[4026531836]", "user": "user:[4026531837]"}[kind]
	link, err := os.Readlink(filepath.Join(root, "self", "ns", kind))
	return err == nil && link == want
}

// openFiles reads the number of open files in the system from
// <root>/sys/fs/file-nr ("allocated unused max").
func openFiles(root string) (int, bool) {
	data, err := os.ReadFile(filepath.Join(root, "sys", "fs", "file-nr"))
	if err != nil {
		return 0, false
	}
	var allocated, unused, max int
	if _, err := fmt.Sscan(string(data), &allocated, &unused, &max); err != nil {
		return 0, false
	}
	return allocated - unused, true
}

// scanBPF lists the holders with the BPF iterator, which sees every
// process of our pid namespace whatever hidepid, ptrace rules or an LSM
// would deny a walk of /proc, so it leaves nothing to warn about. It
// lists AF_UNIX sockets only: the walk's other families match no socket
// of a listing.
func scanBPF(ctx context.Context) (*fdScan, error) {
	return scanBPFWith(ctx, bpf.UnixSocketFDs)
}

// scanBPF runs the iterator Kept keeps loaded, loading it the first time,
// or loads one for this scan alone.
func (s *Source) scanBPF(ctx context.Context) (*fdScan, error) {
	k := s.Kept
	if k == nil {
		return scanBPF(ctx)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.iter == nil {
		it, err := bpf.OpenFDIter()
		if err != nil {
			return scanBPFWith(ctx, func(context.Context) ([]bpf.FD, error) { return nil, err })
		}
		k.iter = it
	}
	return scanBPFWith(ctx, k.iter.Read)
}

func scanBPFWith(ctx context.Context, read func(context.Context) ([]bpf.FD, error)) (*fdScan, error) {
	fds, err := read(ctx)
	if err != nil {
		if errors.Is(err, bpf.ErrUnavailable) {
			return nil, fmt.Errorf("--fd-source bpf: %w", err)
		}
		return nil, err
	}
	scan := &fdScan{root: os.Geteuid() == 0, owners: make([]inspect.Owner, len(fds)), bpf: true}
	for i, f := range fds {
		scan.owners[i] = inspect.Owner{ID: inspect.SocketID(f.Inode), PID: f.PID, FD: f.FD}
	}
	return scan, nil
}
