// Package platform picks the socket source for the running operating system
// and for saved captures. The backends themselves live in its subpackages.
package platform

// Options configure the live backend.
type Options struct {
	// ProcRoot is where procfs is mounted ("/proc" when empty); Linux only.
	ProcRoot string
	// Source forces a Linux data source: "netlink", "procfs", or "" for
	// netlink with a fallback to procfs.
	Source string
}
