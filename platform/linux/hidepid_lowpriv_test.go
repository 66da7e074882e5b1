package linux

import "testing"

func TestProcMountOptions(t *testing.T) {
	const info = `22 1 0:5 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
61 22 0:46 / /proc/sys/fs/binfmt_misc rw,relatime shared:30 - binfmt_misc binfmt_misc rw
70 1 0:52 / /tmp/hide\040me rw,relatime - proc proc rw,hidepid=invisible,gid=27
71 1 0:53 / /tmp/old rw,relatime - proc none rw,hidepid=2
72 1 0:54 / /tmp/old rw,relatime - proc none rw,hidepid=noaccess
73 1 0:55 / /tmp/notproc rw,relatime - tmpfs tmpfs rw,hidepid=2
74 1 0:56 / /tmp/short rw - proc
`
	tests := []struct {
		dir     string
		hidepid string
		gid     int
	}{
		{"/proc", "", -1},
		{"/tmp/hide me", "invisible", 27},
		{"/tmp/old", "noaccess", -1}, // the last mount at a path is in use
		{"/tmp/notproc", "", -1},
		{"/tmp/short", "", -1},
		{"/nowhere", "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			hidepid, gid := procMountOptions([]byte(info), tt.dir)
			if hidepid != tt.hidepid || gid != tt.gid {
				t.Errorf("got hidepid %q gid %d, want %q %d", hidepid, gid, tt.hidepid, tt.gid)
			}
		})
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		`/plain`:            "/plain",
		`/a\040b\011c\012d`: "/a b\tc\nd",
		`/back\134slash`:    `/back\slash`,
		`/trailing\04`:      `/trailing\04`,
		`/not\999octal\`:    `/not\999octal\`,
	} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}
