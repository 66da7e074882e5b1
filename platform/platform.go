// Package platform picks the socket source for the running operating system
// and for saved captures. The backends themselves live in its subpackages.
package platform

import "github.com/udsls/udsls/platform/linux"

// Options configure the live backend.
type Options struct {
	// ProcRoot is where procfs is mounted ("/proc" when empty); Linux only.
	ProcRoot string
	// Source forces a Linux data source: "netlink", "procfs", or "" for
	// netlink with a fallback to procfs.
	Source string
	// AllNetns lists every network namespace; Netns one, named by a pid or
	// a file such as /var/run/netns/NAME. Linux only.
	AllNetns bool
	Netns    string
	// Exhaustive, with AllNetns, also reads the sockets of namespaces it
	// cannot name (other users' processes, unless root), for decisions
	// such as removals that must see every socket; Linux only.
	Exhaustive bool
	// FDSource forces how Linux finds the holders: "bpf", "procfs", or
	// "" or "auto" for the BPF iterator where it can load and pays off.
	FDSource string
	// Keep says that the source will take snapshot after snapshot (a
	// watch): it keeps what they share loaded, until its Close.
	Keep bool
	// Kept, when set, is what the source keeps loaded as Keep says, shared
	// with the other sources given the same one (the exporter's listing
	// and stale search load one BPF iterator); Close on any of them
	// unloads it. Linux only.
	Kept *linux.Kept
}

// InNetns runs fn on a thread inside the network namespace opts.Netns
// names, where abstract socket names are that namespace's. Linux only.
func InNetns(opts Options, fn func() error) error {
	return linux.InNetns(opts.ProcRoot, opts.Netns, fn)
}
