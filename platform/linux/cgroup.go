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
				return userCgroup(inspect.Container{ID: id, Runtime: sp.runtime}, parts[:i]), true
			}
		}
		if !isContainerID(name) {
			continue
		}
		// A bare id names its runtime by where it hangs.
		for _, a := range parts[:i] {
			switch {
			case a == "docker":
				return userCgroup(inspect.Container{ID: name, Runtime: "docker"}, parts[:i]), true
			case a == "libpod_parent":
				return userCgroup(inspect.Container{ID: name, Runtime: "podman"}, parts[:i]), true
			case a == "kubepods" || strings.HasPrefix(a, "kubepods.") || strings.HasPrefix(a, "kubepods-"):
				return userCgroup(inspect.Container{ID: name, Runtime: "kubepods"}, parts[:i]), true
			}
		}
	}
	return inspect.Container{}, false
}

// userCgroup marks a container whose cgroup hangs below a user's service
// manager: systemd delegates that subtree to the user, who may create a
// docker-<id>.scope there with the id of any container on the machine.
func userCgroup(c inspect.Container, above []string) inspect.Container {
	for _, a := range above {
		if u := cgUnescape(a); isUserManager(u) {
			uid, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(u, "user@"), ".service"), 10, 32)
			c.UserCgroup, c.UserUID = true, uint32(uid)
			return c
		}
	}
	return c
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

// unitOfCgroup reads /proc/<pid>/cgroup for the systemd unit the process
// runs in: the unified hierarchy's path ("0::"), or else the name=systemd
// hierarchy's, which systemd keeps on cgroup v1 (where the kernel still
// writes a "0::/" line); other v1 controllers' paths need not follow units.
func unitOfCgroup(data []byte) string {
	var v1 string
	for line := range bytes.Lines(data) {
		id, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		ctrl, p, ok := bytes.Cut(rest, []byte(":"))
		if !ok {
			continue
		}
		p = bytes.TrimSuffix(p, []byte("\n"))
		switch {
		case string(id) == "0" && len(ctrl) == 0:
			if u := unitOfPath(string(p)); u != "" {
				return u
			}
		case string(ctrl) == "name=systemd":
			v1 = string(p)
		}
	}
	return unitOfPath(v1)
}

// unitOfPath is the unit a cgroup path names, as systemd's
// cg_path_get_unit and cg_path_get_user_unit (src/basic/cgroup-util.c)
// decide: leading slices are skipped, and the next component is the unit
// when it is a valid unit name other than a slice. Under a user manager
// (user@UID.service) the user's own unit is the answer, so a process of
// `systemctl --user` services is named by that service, not by the
// manager. Anything else (a cgroupfs container path, "/", a path out of
// the reader's cgroup namespace) names no unit.
//
//	/system.slice/nginx.service                                   nginx.service
//	/system.slice/system-getty.slice/getty@tty1.service           getty@tty1.service
//	/user.slice/user-1000.slice/session-2.scope                   session-2.scope
//	/user.slice/user-1000.slice/user@1000.service/app.slice/x.service   x.service
//	/init.scope                                                   init.scope
func unitOfPath(p string) string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	i := skipSlices(parts, 0)
	if i >= len(parts) {
		return ""
	}
	unit := cgUnescape(parts[i])
	if !validUnitName(unit) || strings.HasSuffix(unit, ".slice") {
		return ""
	}
	// A user manager's units hang below it, after slices of their own
	// (app.slice); a session scope may hold sub-cgroups too.
	if isUserManager(unit) || strings.HasPrefix(unit, "session-") && strings.HasSuffix(unit, ".scope") {
		if j := skipSlices(parts, i+1); j < len(parts) {
			if u := cgUnescape(parts[j]); validUnitName(u) && !strings.HasSuffix(u, ".slice") {
				return u
			}
		}
	}
	return unit
}

// skipSlices returns the index of the first component from i on that is
// not a slice.
func skipSlices(parts []string, i int) int {
	for i < len(parts) {
		u := cgUnescape(parts[i])
		if !strings.HasSuffix(u, ".slice") || !validUnitName(u) {
			break
		}
		i++
	}
	return i
}

// isUserManager reports user@UID.service, a user's service manager.
func isUserManager(u string) bool {
	uid, ok := strings.CutPrefix(u, "user@")
	if !ok {
		return false
	}
	uid, ok = strings.CutSuffix(uid, ".service")
	if !ok {
		return false
	}
	_, err := strconv.ParseUint(uid, 10, 32)
	return err == nil
}

// cgUnescape undoes cg_escape: systemd prefixes "_" to a cgroup name that
// could clash with the kernel's own files (cpu.x, tasks, a name starting
// with "_" or ".").
func cgUnescape(s string) string { return strings.TrimPrefix(s, "_") }

// unitTypes are the unit type suffixes systemd knows (unit_type_table).
var unitTypes = map[string]bool{
	"service": true, "socket": true, "target": true, "device": true, "mount": true,
	"automount": true, "swap": true, "timer": true, "path": true, "slice": true, "scope": true,
}

// validUnitName is unit_name_is_valid(name, UNIT_NAME_PLAIN|UNIT_NAME_INSTANCE)
// (src/basic/unit-name.c): at most 255 bytes of [A-Za-z0-9:_.\-\\@], a known
// type after the last dot, and at most one "@" with an instance after it.
// Escaped names (foo\x2dbar.service) are valid as they are.
func validUnitName(n string) bool {
	if len(n) == 0 || len(n) > 255 {
		return false
	}
	dot := strings.LastIndexByte(n, '.')
	if dot <= 0 || !unitTypes[n[dot+1:]] {
		return false
	}
	prefix := n[:dot]
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', ascii.IsDigit(c):
		case c == ':' || c == '-' || c == '_' || c == '.' || c == '\\' || c == '@':
		default:
			return false
		}
	}
	at := strings.IndexByte(prefix, '@')
	switch {
	case at < 0:
		return true
	case at == 0 || at == len(prefix)-1 || strings.Count(prefix, "@") > 1:
		return false
	}
	return true
}
