package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"

	"github.com/google/go-cmp/cmp"
)

// listingDoc mirrors the JSON of a listing as README.md documents the
// fields this test is about.
type listingDoc struct {
	Sockets []struct {
		Path      string  `json:"path"`
		Inode     uint64  `json:"inode"`
		Netns     *uint64 `json:"netns"`
		Container *struct {
			ID      string `json:"id"`
			Runtime string `json:"runtime"`
		} `json:"container"`
		Processes []struct {
			PID int `json:"pid"`
			FD  int `json:"fd"`
		} `json:"processes"`
		File *struct {
			Mode string `json:"mode"`
		} `json:"file"`
		FileStatus *string `json:"file_status"`
	} `json:"sockets"`
	Warnings []string `json:"warnings"`
}

// nsChild is a process in network and mount namespaces of its own, with
// a tmpfs over dir that only it sees, holding: dir/app.sock (a listener,
// mode 0604), dir/stale.sock (bound, then closed) and an abstract listener.
type nsChild struct {
	pid, appFD int
	abstract   string
	netns      uint64
}

func startNSChild(t *testing.T, dir string) *nsChild {
	t.Helper()
	testenv.NeedRoot(t, "needs root to create network and mount namespaces")
	py := testenv.NeedTool(t, "python3", "python3")
	testenv.NeedTool(t, "unshare", "util-linux")
	const script = `import os, socket, sys
d, name = sys.argv[1], sys.argv[2]
app = socket.socket(socket.AF_UNIX)
app.bind(d + "/app.sock")
app.listen(8)
os.chmod(d + "/app.sock", 0o604)
old = socket.socket(socket.AF_UNIX)
old.bind(d + "/stale.sock")
old.close()
ab = socket.socket(socket.AF_UNIX)
ab.bind("\0" + name)
ab.listen(8)
print(os.getpid(), app.fileno(), flush=True)
sys.stdin.read()
`
	c := &nsChild{abstract: "udsls-cli-" + rand.Text()}
	// The shell mounts, then becomes python: the pid stays the same.
	cmd := exec.Command("unshare", "--net", "--mount", "--", "sh", "-c",
		`mount -t tmpfs tmpfs "$1" && exec "$2" -c "$3" "$1" "$4"`, "sh", dir, py, script, c.abstract)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	line, _, err := testutil.StartChild(t, cmd)
	if err == nil {
		_, err = fmt.Sscan(line, &c.pid, &c.appFD)
	}
	if err != nil {
		t.Fatalf("child said %q (%v), stderr %q", line, err, stderr.String())
	}
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", c.pid), &st); err != nil {
		t.Fatal(err)
	}
	c.netns = st.Ino
	return c
}

func decodeListing(t *testing.T, out string) *listingDoc {
	t.Helper()
	var d listingDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("decoding %s: %v", out, err)
	}
	return &d
}

// TestNetnsCLI runs udsls against a container-like child: its sockets are
// only in the namespace listings, and --check and --stale judge its paths
// as it sees them, where the host has other files.
func TestNetnsCLI(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.sock")
	// The host's files at the same paths: a regular file where the child
	// listens, and a live socket of the host's own.
	if err := os.WriteFile(app, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	hostLn, err := net.Listen("unix", filepath.Join(dir, "host.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer hostLn.Close()
	c := startNSChild(t, dir)
	pid := strconv.Itoa(c.pid)
	glob := dir + "/*"

	type row struct {
		Path   string
		Netns  uint64
		Holder int // first holder's pid
		FD     int
		Mode   string
		Status string
	}
	rows := func(t *testing.T, d *listingDoc) []row {
		var out []row
		for _, s := range d.Sockets {
			r := row{Path: s.Path}
			if s.Netns != nil {
				r.Netns = *s.Netns
			}
			if len(s.Processes) > 0 {
				r.Holder, r.FD = s.Processes[0].PID, s.Processes[0].FD
			}
			if s.File != nil {
				r.Mode = s.File.Mode
			}
			if s.FileStatus != nil {
				r.Status = *s.FileStatus
			}
			out = append(out, r)
		}
		return out
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/ns/net", &st); err != nil {
		t.Fatal(err)
	}
	self := st.Ino
	host := row{Path: filepath.Join(dir, "host.sock"), Netns: self, Holder: os.Getpid(), Mode: "0755", Status: "ok"}
	fi, err := os.Lstat(host.Path)
	if err != nil {
		t.Fatal(err)
	}
	host.Mode = fmt.Sprintf("%04o", fi.Mode().Perm())
	host.FD = -1 // filled below from the default listing, which must show it
	child := row{Path: app, Netns: c.netns, Holder: c.pid, FD: c.appFD, Mode: "0604", Status: "ok"}

	t.Run("default", func(t *testing.T) {
		code, out, errOut := runUdsls("-o", "json", glob)
		if code != exitOK {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		got := rows(t, decodeListing(t, out))
		if len(got) == 1 {
			host.FD = got[0].FD
		}
		if diff := cmp.Diff([]row{host}, got); diff != "" {
			t.Errorf("the caller's namespace (-want +got):\n%s", diff)
		}
	})

	t.Run("all-netns", func(t *testing.T) {
		code, out, errOut := runUdsls("-N", "-o", "json", glob)
		if code != exitOK {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		if diff := cmp.Diff([]row{child, host}, rows(t, decodeListing(t, out))); diff != "" {
			t.Errorf("every namespace (-want +got):\n%s", diff)
		}
		code, out, _ = runUdsls("-N", "--color=never", glob)
		lines := strings.Split(out, "\n")
		if code != exitOK || !strings.Contains(lines[0], "NETNS/CONTAINER") || !strings.Contains(out, " "+strconv.FormatUint(c.netns, 10)) {
			t.Errorf("table of two namespaces lacks the NETNS/CONTAINER column:\n%s", out)
		}
	})

	for name, netns := range map[string]string{"pid": pid, "path": "/proc/" + pid + "/ns/net"} {
		t.Run("netns "+name, func(t *testing.T) {
			code, out, errOut := runUdsls("--netns", netns, "-a", "-o", "json")
			if code != exitOK {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			d := decodeListing(t, out)
			var names []string
			for _, s := range d.Sockets {
				if s.Netns == nil || *s.Netns != c.netns {
					t.Errorf("socket %q of namespace %v, want only %d", s.Path, s.Netns, c.netns)
				}
				names = append(names, s.Path)
			}
			if diff := cmp.Diff([]string{app, "@" + c.abstract}, names); diff != "" {
				t.Errorf("sockets (-want +got):\n%s", diff)
			}
			code, out, _ = runUdsls("--netns", netns, "--color=never")
			if code != exitOK || strings.Contains(out, "NETNS") {
				t.Errorf("one namespace shown, yet a NETNS column:\n%s", out)
			}
		})
	}

	t.Run("container", func(t *testing.T) {
		id := testutil.FakeDockerCgroup(t, c.pid)
		code, out, errOut := runUdsls("-N", "-o", "json", glob)
		if code != exitOK {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		var got []string
		for _, s := range decodeListing(t, out).Sockets {
			l := "null"
			if s.Container != nil {
				l = s.Container.Runtime + ":" + s.Container.ID
			}
			got = append(got, l)
		}
		if diff := cmp.Diff([]string{"docker:" + id, "null"}, got); diff != "" {
			t.Errorf("containers of the child's and the host's socket (-want +got):\n%s", diff)
		}
		code, out, _ = runUdsls("-N", "--color=never", glob)
		if want := strconv.FormatUint(c.netns, 10) + "/docker:" + id[:12]; code != exitOK || !strings.Contains(out, want) {
			t.Errorf("table lacks %s:\n%s", want, out)
		}
	})

	t.Run("check", func(t *testing.T) {
		tests := []struct {
			args    []string
			code    int
			verdict string
		}{
			{[]string{app}, exitNo, "not_socket"},
			{[]string{"--netns", pid, app}, exitOK, "up"},
			{[]string{"@" + c.abstract}, exitNo, "missing"},
			{[]string{"--netns", pid, "@" + c.abstract}, exitOK, "up"},
			{[]string{"--netns", pid, filepath.Join(dir, "stale.sock")}, exitNo, "stale"},
		}
		for _, tt := range tests {
			code, out, errOut := runUdsls(append([]string{"--check", "-o", "json"}, tt.args...)...)
			var d checkDoc
			if err := json.Unmarshal([]byte(out), &d); err != nil {
				t.Fatalf("%v: decoding %q: %v (stderr %q)", tt.args, out, err, errOut)
			}
			want := tt.args[len(tt.args)-1]
			if code != tt.code || len(d.Checks) != 1 || d.Checks[0].Verdict != tt.verdict || d.Checks[0].Path != want {
				t.Errorf("--check %v: exit %d, %+v; want exit %d, %s for %q", tt.args, code, d.Checks, tt.code, tt.verdict, want)
			}
		}
	})

	t.Run("stale", func(t *testing.T) {
		stale := filepath.Join(dir, "stale.sock")
		for _, tt := range []struct {
			args []string
			code int
			want []string
		}{
			{nil, exitOK, nil}, // the host's view: a live socket and a regular file
			{[]string{"--netns", pid}, exitNo, []string{stale}},
			{[]string{"--netns", pid, "--remove"}, exitOK, []string{stale}},
			{[]string{"--netns", pid}, exitOK, nil},
		} {
			args := append([]string{"--stale", "-o", "json"}, tt.args...)
			code, out, errOut := runUdsls(append(args, dir)...)
			d := decodeStale(t, []byte(out))
			var got []string
			for _, f := range d.Stale {
				got = append(got, f.Path)
			}
			if code != tt.code || !cmp.Equal(tt.want, got) {
				t.Errorf("%v: exit %d, stale %q; want exit %d, %q (stderr %q)", args, code, got, tt.code, tt.want, errOut)
			}
		}
		if _, err := os.Lstat(app); err != nil {
			t.Errorf("the host's file at the child's path: %v", err)
		}
	})
}

func TestNetnsUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-N", "--check", "/run/x.sock"}, "--all-netns does not apply to --check; name one namespace with --netns"},
		{[]string{"--netns", "1", "--audit"}, "--netns does not apply to --audit, which judges paths in this machine's file system"},
		{[]string{"-N", "--from", "procnet:/dev/null"}, "--all-netns reads the live system; it does not apply to --from captures"},
		{[]string{"--netns", "999999999"}, "network namespace of pid 999999999: no such process"},
		{[]string{"--netns", "999999999", "--check", "/run/x.sock"}, "network namespace of pid 999999999: no such process"},
		{[]string{"--netns", "/nonexistent/ns", "--stale", "/tmp"}, `network namespace "/nonexistent/ns": no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runUdsls(tt.args...)
			if code != exitError || out != "" || !strings.HasPrefix(errOut, "udsls: error: "+tt.want+"\n") {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and the error %q", code, out, errOut, tt.want)
			}
		})
	}
}
