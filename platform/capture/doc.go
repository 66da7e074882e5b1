// Package capture parses what other tools print about Unix domain sockets:
// `lsof -U` (the -F fields, NL or NUL terminated, or the table, from macOS
// or Linux) and the unix section of macOS or FreeBSD `netstat`, and joins
// them on the socket's ID, the kernel address on macOS or the inode on
// Linux. It reads saved outputs for --from and serves the live macOS
// backend, which runs the same tools. The parsers take an io.Reader and
// build on every OS, so they are tested everywhere against real captures
// (see testdata/macos/PROVENANCE.md).
//
// Against Linux, macOS outputs cannot say: socket inodes (the ID is the
// kernel's obfuscated unpcb address, stable for one boot only), the
// identity of the bound file (netstat's Inode column is a vnode address),
// the socket's own uid, network namespaces (macOS has none, nor abstract
// names), a listener's accept queue and backlog, or the not-yet-accepted
// connections of a listener. Whether a bound stream socket listens is
// guessed from netstat unless `netstat -v` prints so_options (macOS 15
// and later). lsof alone gives no type and, for a named socket, no state
// or peer. lsof and netstat run at nearly the same moment, not the same.
package capture
