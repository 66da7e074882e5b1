// Package inspect is the platform-neutral model of Unix domain sockets and
// everything that gives it meaning: joining sockets to the processes that
// hold them, filtering, stale-file detection, health checks and audits.
// It prints nothing: inspect/render turns its results into tables, JSON
// and Prometheus metrics.
//
// It reaches the system through function fields (Resolver.Process,
// UserName, GroupName and Probe; Auditor.HasACL and MountRoot) that
// platform/sys fills with this machine's, so its logic is tested on
// literal snapshots and fakes. The stale walker and remover and the file
// view (lstat, statx, mount identity) still make their own syscalls here
// until they move to platform too. Backends live in platform/ and import
// this package, never the reverse.
package inspect
