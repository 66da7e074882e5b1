// Package inspect is the platform-neutral model of Unix domain sockets and
// everything that gives it meaning: joining sockets to the processes that
// hold them, filtering, stale-file detection, health checks and audits.
// It prints nothing: inspect/render turns its results into tables, JSON
// and Prometheus metrics.
//
// It imports no syscall package. File identity, the stale-file walk and
// removal, the connect probe, process metadata and account names reach it
// through the function fields and the interface it declares
// (Resolver.Process, Lstat, Readlink, UserName, GroupName, Probe and
// Files; Checker.EvalSymlinks; Auditor.HasACL and MountRoot), which
// platform/sys fills with this machine's, so its logic is tested on
// literal snapshots and fakes. Through package os it still resolves the
// symlinks of directories and paths a user names and of holders' working
// directories, and reads /etc/passwd, /etc/group and one sysctl for the
// audit. Backends live in platform/ and import this package, never the
// reverse.
package inspect
