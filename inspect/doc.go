// Package inspect is the platform-neutral model of Unix domain sockets and
// everything that gives it meaning: joining sockets to the processes that
// hold them, filtering, stale-file detection, health checks and audits.
// It prints nothing: inspect/render turns its results into tables, JSON
// and Prometheus metrics.
//
// It performs no syscalls of its own except through injectable function
// fields with real defaults, so its logic is tested on literal snapshots
// and on real sockets in temporary directories alike. Backends live in
// platform/ and import this package, never the reverse.
package inspect
