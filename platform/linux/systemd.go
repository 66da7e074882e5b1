package linux

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/udsls/udsls/inspect"
)

// Service tells what systemd gave process pid: the unit its cgroup names,
// and the names of the descriptors socket activation passed it. nil when
// neither is known. The Resolver calls it for the holders it shows.
func (s *Source) Service(pid int) *inspect.Service {
	dir := filepath.Join(s.procRoot(), strconv.Itoa(pid))
	var sv inspect.Service
	if data, err := os.ReadFile(filepath.Join(dir, "cgroup")); err == nil {
		sv.Unit = unitOfCgroup(data)
	}
	// environ needs the right to ptrace-read the process (root, or the
	// same user); without it the names stay unknown.
	readEnviron(filepath.Join(dir, "environ"), func(env []byte) {
		sv.FDNames = listenFDNames(env, func(n int) bool {
			// sd_listen_fds(3) compares LISTEN_PID with getpid(2), the pid
			// in the process's own namespace: in a container that is not
			// the pid seen here, which may be anyone's LISTEN_PID there.
			if own := nsPID(dir); own != 0 {
				return n == own
			}
			return n == pid // a kernel before 4.1 has no NSpid
		})
	})
	if sv.Unit == "" && sv.FDNames == nil {
		return nil
	}
	return &sv
}

func (s *Source) procRoot() string {
	if s.ProcRoot == "" {
		return "/proc"
	}
	return s.ProcRoot
}

// maxEnviron bounds the read of a process's environment, which may be as
// large as its stack limit allows: variables past it stay unknown.
const maxEnviron = 256 << 10

// environBufs are read buffers for environments: most fit in one read.
var environBufs = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// readEnviron calls fn with the variables of a process's environment that
// end within its first maxEnviron bytes, in a buffer that is reused after
// fn returns.
func readEnviron(name string, fn func([]byte)) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	bp := environBufs.Get().(*[]byte)
	defer environBufs.Put(bp)
	b := (*bp)[:0]
	for len(b) < maxEnviron {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := f.Read(b[len(b):min(cap(b), maxEnviron)])
		b = b[:len(b)+n]
		if err == io.EOF || n == 0 && err == nil {
			break
		}
		if err != nil {
			return err
		}
	}
	*bp = b
	if len(b) >= maxEnviron {
		// The variable the bound cut is not what the process has: a
		// name cut short would be shown as the whole name.
		b = b[:bytes.LastIndexByte(b, 0)+1]
	}
	fn(b)
	return nil
}

// listenFDNames reads the sd_listen_fds(3) protocol from a NUL-separated
// environment: LISTEN_PID says whose the descriptors are (a child that
// inherited the variables is not meant), LISTEN_FDS how many were passed
// from fd 3 on, LISTEN_FDNAMES their names, colon-separated. It returns
// fd -> name, nil when the variables are absent, meant for another
// process, or malformed; a name that is empty or that systemd would refuse
// (fdname_is_valid: a control byte, DEL or a byte above ASCII) is left
// out. isPID says whether LISTEN_PID names this process.
func listenFDNames(env []byte, isPID func(int) bool) map[int]string {
	var pid, fds, names []byte
	havePID, haveFDs, haveNames := false, false, false
	for kv := range bytes.SplitSeq(env, []byte{0}) {
		k, v, ok := bytes.Cut(kv, []byte("="))
		if !ok {
			continue
		}
		// The first definition is what getenv(3) returns.
		switch string(k) {
		case "LISTEN_PID":
			if !havePID {
				pid, havePID = v, true
			}
		case "LISTEN_FDS":
			if !haveFDs {
				fds, haveFDs = v, true
			}
		case "LISTEN_FDNAMES":
			if !haveNames {
				names, haveNames = v, true
			}
		}
	}
	if !havePID || !haveFDs || !haveNames {
		return nil
	}
	p, ok := parseDecimal(string(pid))
	if !ok || !isPID(p) {
		return nil
	}
	n, ok := parseDecimal(string(fds))
	if !ok || n <= 0 {
		return nil
	}
	parts := bytes.Split(names, []byte(":"))
	// sd_listen_fds_with_names refuses a count that disagrees.
	if len(parts) != n {
		return nil
	}
	out := map[int]string{}
	for i, name := range parts {
		if validFDName(name) {
			out[3+i] = string(name)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// validFDName is systemd's fdname_is_valid, less the empty name, which
// tells nothing.
func validFDName(b []byte) bool {
	if len(b) == 0 || len(b) > 255 {
		return false
	}
	for _, c := range b {
		if c < ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// nsPID is the process's pid in its own pid namespace (the last NSpid
// field of status), which is what it put in LISTEN_PID when it runs in a
// container; 0 when unknown.
func nsPID(dir string) int {
	data, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(data) {
		if v, ok := bytes.CutPrefix(line, []byte("NSpid:")); ok {
			f := bytes.Fields(v)
			if len(f) == 0 {
				return 0
			}
			n, _ := parseDecimal(string(f[len(f)-1]))
			return n
		}
	}
	return 0
}
