//go:build linux

// Command benchtool serves scripts/bench.sh.
//
//	benchtool floor      the least work a full listing with processes needs:
//	                     one sock_diag dump and one walk of /proc/*/fd,
//	                     joined in a map; prints the counts
//	benchtool tree DIR   makes the --stale benchmark tree in DIR: 100
//	                     directories of 990 files and 10 stale sockets
//
// The floor is written the plain way on purpose (os.Readlink, one goroutine,
// no decoding beyond the inode), so that the gap between it and udsls is
// the cost of what udsls adds: names, peers, queues, holders' names, file
// status and the JSON.
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func main() {
	var err error
	switch {
	case len(os.Args) == 2 && os.Args[1] == "floor":
		err = floor()
	case len(os.Args) == 3 && os.Args[1] == "tree":
		err = tree(os.Args[2])
	default:
		err = errors.New("usage: benchtool floor | benchtool tree DIR")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchtool: error: %v\n", err)
		os.Exit(2)
	}
}

type owner struct{ pid, fd int }

func floor() error {
	socks, err := dumpInodes()
	if err != nil {
		return err
	}
	held := 0
	err = walkFDs(func(ino uint64, pid, fd int) {
		if hs, ok := socks[ino]; ok {
			socks[ino] = append(hs, owner{pid, fd})
			held++
		}
	})
	if err != nil {
		return err
	}
	fmt.Printf("%d sockets, %d held by a process\n", len(socks), held)
	return nil
}

// dumpInodes asks for what udsls asks for (name, vfs, peer, icons, queues,
// uid), so the kernel does the same work, and keeps only the inodes.
func dumpInodes() (map[uint64][]owner, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	defer unix.Close(fd)
	ne := binary.NativeEndian
	req := make([]byte, 0, 40)
	req = ne.AppendUint32(req, 40)
	req = ne.AppendUint16(req, 20)           // SOCK_DIAG_BY_FAMILY
	req = ne.AppendUint16(req, 0x1|0x300)    // NLM_F_REQUEST|NLM_F_DUMP
	req = ne.AppendUint32(req, 1)            // seq
	req = ne.AppendUint32(req, 0)            // port id
	req = append(req, unix.AF_UNIX, 0, 0, 0) // family, protocol, pad
	req = ne.AppendUint32(req, ^uint32(0))   // all states
	req = ne.AppendUint32(req, 0)            // ino
	req = ne.AppendUint32(req, 0x01|0x02|0x04|0x08|0x10|0x40)
	req = ne.AppendUint32(req, ^uint32(0)) // no cookie
	req = ne.AppendUint32(req, ^uint32(0))
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("netlink sendto: %w", err)
	}
	socks := map[uint64][]owner{}
	buf := make([]byte, 32<<10)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("netlink recvfrom: %w", err)
		}
		for b := buf[:n]; len(b) >= 16; {
			l := int(ne.Uint32(b))
			if l < 16 || l > len(b) {
				return nil, fmt.Errorf("netlink message length %d", l)
			}
			switch ne.Uint16(b[4:]) {
			case 3: // NLMSG_DONE
				return socks, nil
			case 2: // NLMSG_ERROR
				return nil, fmt.Errorf("netlink error %d", int32(ne.Uint32(b[16:])))
			case 20:
				if l >= 16+16 {
					socks[uint64(ne.Uint32(b[16+4:]))] = nil
				}
			}
			b = b[min((l+3)&^3, len(b)):]
		}
	}
}

// walkFDs calls fn for every fd of every process that is a socket.
// Processes and fds that vanish meanwhile are skipped.
func walkFDs(fn func(ino uint64, pid, fd int)) error {
	d, err := os.Open("/proc")
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		dir := "/proc/" + name + "/fd/"
		d, err := os.Open(dir)
		if err != nil {
			continue
		}
		fds, _ := d.Readdirnames(-1)
		d.Close()
		for _, f := range fds {
			link, err := os.Readlink(dir + f)
			if err != nil {
				continue
			}
			rest, ok := strings.CutPrefix(link, "socket:[")
			if !ok {
				continue
			}
			ino, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64)
			if err != nil {
				continue
			}
			fd, _ := strconv.Atoi(f)
			fn(ino, pid, fd)
		}
	}
	return nil
}

// tree makes the tree inspect's BenchmarkStaleWalk uses: 100 directories
// of 1000 entries each, 990 empty files and 10 sockets whose socket is
// closed, 100k files and 1k stale sockets in all.
func tree(root string) error {
	for i := range 100 {
		dir := filepath.Join(root, fmt.Sprintf("d%02d", i/10), fmt.Sprintf("e%d", i%10))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for j := range 1000 {
			p := filepath.Join(dir, fmt.Sprintf("f%03d", j))
			if j%100 != 0 {
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					return err
				}
				continue
			}
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			err = unix.Bind(fd, &unix.SockaddrUnix{Name: p + ".sock"})
			unix.Close(fd)
			if err != nil {
				return fmt.Errorf("bind %q: %w", p+".sock", err)
			}
		}
	}
	return nil
}
