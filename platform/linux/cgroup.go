package linux

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/internal/ascii"
)

// Container tells which container process pid runs in, from the names its
// runtime gave the process's cgroup; nil when none is recognised or the
// process cannot be read. The Resolver calls it for the holders it shows.
func (s *Source) Container(pid int) *inspect.Container {
	root := s.ProcRoot
	if root == "" {
		root = "/proc"
	}
	data, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return nil
	}
	c, ok := parseCgroup(data)
	if !ok {
		return nil
	}
	return &c
}

// parseCgroup reads /proc/<pid>/cgroup, one "hierarchy-ID:controllers:path"
// line per hierarchy (cgroups(7); "0::path" for cgroup v2), and returns the
// container the first recognised path names. The paths are as the reader's
// cgroup namespace sees them, which for a host process is the full path.
func parseCgroup(data []byte) (inspect.Container, bool) {
	for line := range bytes.Lines(data) {
		// The path is the rest of the line after the second colon; it may
		// hold colons itself.
		_, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		_, p, ok := bytes.Cut(rest, []byte(":"))
		if !ok {
			continue
		}
		if c, ok := containerOfCgroup(strings.TrimSuffix(string(p), "\n")); ok {
			return c, true
		}
	}
	return inspect.Container{}, false
}

// scopePrefixes are the unit names runtimes give a container's cgroup under
// systemd: <prefix><64 hex>.scope. The conmon monitors of cri-o and podman
// (crio-conmon-<id>, libpod-conmon-<id>) are not containers and do not match,
// since their rest is not a bare id.
var scopePrefixes = []struct{ prefix, runtime string }{
	{"docker-", "docker"},
	{"cri-containerd-", "containerd"},
	{"nerdctl-", "containerd"},
	{"crio-", "cri-o"},
	{"libpod-", "podman"},
}

// containerOfCgroup looks for a container id in a cgroup path, innermost
// component first, so a process in a sub-cgroup of a container (a nested
// init.scope) still counts as inside it.
//
//	/system.slice/docker-<id>.scope                       docker (systemd driver)
//	/docker/<id>                                          docker (cgroupfs driver)
//	/kubepods.slice/.../cri-containerd-<id>.scope         containerd
//	/kubepods.slice/.../crio-<id>.scope                   cri-o
//	/machine.slice/libpod-<id>.scope, /libpod_parent/libpod-<id>  podman
//	/kubepods/besteffort/pod<uid>/<id>                    kubepods (runtime unnamed)
func containerOfCgroup(p string) (inspect.Container, bool) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		name := strings.TrimSuffix(parts[i], ".scope")
		for _, sp := range scopePrefixes {
			if id, ok := strings.CutPrefix(name, sp.prefix); ok && isContainerID(id) {
				return inspect.Container{ID: id, Runtime: sp.runtime}, true
			}
		}
		if !isContainerID(name) {
			continue
		}
		// A bare id names its runtime by where it hangs.
		for _, a := range parts[:i] {
			switch {
			case a == "docker":
				return inspect.Container{ID: name, Runtime: "docker"}, true
			case a == "libpod_parent":
				return inspect.Container{ID: name, Runtime: "podman"}, true
			case a == "kubepods" || strings.HasPrefix(a, "kubepods.") || strings.HasPrefix(a, "kubepods-"):
				return inspect.Container{ID: name, Runtime: "kubepods"}, true
			}
		}
	}
	return inspect.Container{}, false
}

// isContainerID reports the 64 lowercase hex digits docker, containerd,
// cri-o and podman all use for container ids.
func isContainerID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ascii.IsDigit(s[i]) && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return true
}
