package linux

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// procHidden says how procfs at procRoot hides other users' processes
// from the caller: the hidepid option when it makes their /proc/PID
// directories invisible (hidepid=2, "invisible", or 4, "ptraceable"), so
// that the fd walk cannot even count them; "" when it hides none, when the
// caller is root or in the mount's gid= group, or when it cannot tell.
func procHidden(procRoot string) string {
	if os.Geteuid() == 0 {
		return ""
	}
	// The caller's mount namespace is where procRoot is mounted.
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	dir, err := filepath.Abs(procRoot)
	if err == nil {
		dir, err = filepath.EvalSymlinks(dir)
	}
	if err != nil {
		return ""
	}
	hidepid, gid := procMountOptions(data, dir)
	switch hidepid {
	case "2", "invisible", "4", "ptraceable":
	default:
		return ""
	}
	if gid >= 0 {
		groups, _ := os.Getgroups()
		if os.Getegid() == gid || slices.Contains(groups, gid) {
			return ""
		}
	}
	return hidepid
}

// procMountOptions finds the procfs mounted at dir in /proc/self/mountinfo
// and returns its hidepid option and gid (-1 when not given). The last
// mount at dir is the one in use. Fields are described in proc(5):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
func procMountOptions(mountinfo []byte, dir string) (hidepid string, gid int) {
	hidepid, gid = "", -1
	for line := range bytes.Lines(mountinfo) {
		fields := strings.Fields(string(line))
		sep := slices.Index(fields, "-")
		if len(fields) < 5 || sep < 6 || len(fields) < sep+4 {
			continue
		}
		if fields[sep+1] != "proc" || unescapeMountinfo(fields[4]) != dir {
			continue
		}
		hidepid, gid = "", -1
		for _, o := range strings.Split(fields[sep+3], ",") {
			k, v, _ := strings.Cut(o, "=")
			switch k {
			case "hidepid":
				hidepid = v
			case "gid":
				if n, err := strconv.Atoi(v); err == nil {
					gid = n
				}
			}
		}
	}
	return hidepid, gid
}

// unescapeMountinfo undoes the kernel's octal escapes of space, tab,
// newline and backslash in a mountinfo path (show_mountinfo, mangle()).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
