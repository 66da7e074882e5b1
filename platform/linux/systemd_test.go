package linux

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
)

func TestUnitOfCgroup(t *testing.T) {
	id := strings.Repeat("4f1c", 16)
	tests := []struct {
		name, in, want string
	}{
		{"system service", "0::/system.slice/nginx.service\n", "nginx.service"},
		{"delegated sub-cgroup", "0::/system.slice/nginx.service/worker\n", "nginx.service"},
		{"nested slices", "0::/system.slice/system-getty.slice/getty@tty1.service\n", "getty@tty1.service"},
		{"deep custom slices", "0::/a.slice/a-b.slice/a-b-c.slice/job.service\n", "job.service"},
		{"escaped name", `0::/system.slice/system-foo\x2dbar.slice/foo\x2dbar.service` + "\n", `foo\x2dbar.service`},
		{"cgroup-escaped name", "0::/system.slice/_cpu.x.service\n", "cpu.x.service"},
		{"init", "0::/init.scope\n", "init.scope"},
		{"session scope", "0::/user.slice/user-1000.slice/session-2.scope\n", "session-2.scope"},
		{"user unit", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/pipewire.service\n", "pipewire.service"},
		{"user app scope", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-4242.scope\n", "app-gnome-firefox-4242.scope"},
		{"user manager itself", "0::/user.slice/user-1000.slice/user@1000.service/init.scope\n", "init.scope"},
		{"user manager, no unit below", "0::/user.slice/user-1000.slice/user@1000.service\n", "user@1000.service"},
		{"user manager with a bad uid", "0::/user.slice/user-1000.slice/user@x.service/app.slice/a.service\n", "user@x.service"},
		{"docker scope", "0::/system.slice/docker-" + id + ".scope\n", "docker-" + id + ".scope"},
		{"docker cgroupfs", "0::/docker/" + id + "\n", ""},
		{"kubepods cgroupfs", "0::/kubepods/besteffort/pod1/" + id + "\n", ""},
		{"only slices", "0::/user.slice/user-1000.slice\n", ""},
		{"root", "0::/\n", ""},
		{"out of the cgroup namespace", "0::/../../system.slice/a.service\n", ""},
		{"template without instance", "0::/system.slice/getty@.service\n", ""},
		{"unknown type", "0::/system.slice/nginx.daemon\n", ""},
		{"bad byte", "0::/system.slice/ng inx.service\n", ""},
		{"v1 name=systemd", "12:pids:/system.slice/a.service\n1:name=systemd:/system.slice/cron.service\n", "cron.service"},
		{"v1 without systemd", "12:pids:/system.slice/a.service\n", ""},
		{"v1 with an empty unified line", "0::/\n12:pids:/\n1:name=systemd:/system.slice/cron.service\n", "cron.service"},
		{"hybrid prefers unified", "1:name=systemd:/system.slice/old.service\n0::/system.slice/new.service\n", "new.service"},
		{"malformed", "garbage\n", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unitOfCgroup([]byte(tt.in)); got != tt.want {
				t.Errorf("unitOfCgroup(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzUnitOfCgroup(f *testing.F) {
	f.Add([]byte("0::/system.slice/nginx.service\n"))
	f.Add([]byte("0::/user.slice/user-1000.slice/user@1000.service/app.slice/x.service"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if u := unitOfCgroup(b); u != "" && (!validUnitName(u) || strings.HasSuffix(u, ".slice")) {
			t.Errorf("unitOfCgroup(%q) = %q, not a unit name", b, u)
		}
	})
}

func env(kv ...string) []byte { return []byte(strings.Join(kv, "\x00") + "\x00") }

func TestListenFDNames(t *testing.T) {
	is := func(want int) func(int) bool { return func(n int) bool { return n == want } }
	tests := []struct {
		name string
		env  []byte
		want map[int]string
	}{
		{"two names", env("PATH=/bin", "LISTEN_PID=42", "LISTEN_FDS=2", "LISTEN_FDNAMES=api:admin"), map[int]string{3: "api", 4: "admin"}},
		{"another pid", env("LISTEN_PID=43", "LISTEN_FDS=1", "LISTEN_FDNAMES=api"), nil},
		{"no names", env("LISTEN_PID=42", "LISTEN_FDS=1"), nil},
		{"count mismatch", env("LISTEN_PID=42", "LISTEN_FDS=2", "LISTEN_FDNAMES=api"), nil},
		{"zero fds", env("LISTEN_PID=42", "LISTEN_FDS=0", "LISTEN_FDNAMES="), nil},
		{"bad count", env("LISTEN_PID=42", "LISTEN_FDS=-1", "LISTEN_FDNAMES=a"), nil},
		{"bad pid", env("LISTEN_PID=+42", "LISTEN_FDS=1", "LISTEN_FDNAMES=a"), nil},
		{"empty and invalid names left out", env("LISTEN_PID=42", "LISTEN_FDS=3", "LISTEN_FDNAMES=:x\x1by:ok"), map[int]string{5: "ok"}},
		{"first definition wins", env("LISTEN_PID=42", "LISTEN_FDS=1", "LISTEN_FDNAMES=first", "LISTEN_FDNAMES=second"), map[int]string{3: "first"}},
		{"spaces kept", env("LISTEN_PID=42", "LISTEN_FDS=1", "LISTEN_FDNAMES=my api"), map[int]string{3: "my api"}},
		{"none", env("PATH=/bin"), nil},
		{"truncated", []byte("LISTEN_PID=42\x00LISTEN_FDS=1\x00LISTEN_FDNA"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, listenFDNames(tt.env, is(42))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzListenFDNames(f *testing.F) {
	f.Add(env("LISTEN_PID=1", "LISTEN_FDS=2", "LISTEN_FDNAMES=a:b"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for fd, name := range listenFDNames(b, func(int) bool { return true }) {
			if fd < 3 || !validFDName([]byte(name)) {
				t.Errorf("listenFDNames(%q): fd %d %q", b, fd, name)
			}
		}
	})
}

// TestSourceService reads units and fd names from a fake proc tree: a
// system service, a user unit, a scope, a process in a container pid
// namespace whose LISTEN_PID is its inner pid, one whose LISTEN_PID is its
// outer pid (not its own), and one whose variables were inherited from its
// parent.
func TestSourceService(t *testing.T) {
	root := makeProcTree(t, map[string]string{
		"10/cgroup":  "0::/system.slice/nginx.service\n",
		"10/environ": string(env("LISTEN_PID=10", "LISTEN_FDS=2", "LISTEN_FDNAMES=api:admin")),
		"11/cgroup":  "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app.service\n",
		"12/cgroup":  "0::/user.slice/user-1000.slice/session-4.scope\n",
		"13/cgroup":  "0::/\n",
		"13/environ": string(env("LISTEN_PID=1", "LISTEN_FDS=1", "LISTEN_FDNAMES=web")),
		"13/status":  "Name:\tsrv\nNSpid:\t13\t1\n",
		"14/cgroup":  "0::/system.slice/nginx.service\n",
		"14/environ": string(env("LISTEN_PID=10", "LISTEN_FDS=2", "LISTEN_FDNAMES=api:admin")),
		"14/status":  "Name:\tworker\nNSpid:\t14\n",
		"15/cgroup":  "0::/\n",
		// In a pid namespace, with LISTEN_PID its pid as seen from outside.
		"17/environ": string(env("LISTEN_PID=17", "LISTEN_FDS=1", "LISTEN_FDNAMES=web")),
		"17/status":  "Name:\tsrv\nNSpid:\t17\t2\n",
		// No NSpid (Linux < 4.1): the pid is all there is.
		"18/environ": string(env("LISTEN_PID=18", "LISTEN_FDS=1", "LISTEN_FDNAMES=web")),
		"18/status":  "Name:\tsrv\n",
	}, nil)
	src := &Source{ProcRoot: root}
	tests := []struct {
		pid  int
		want *inspect.Service
	}{
		{10, &inspect.Service{Unit: "nginx.service", FDNames: map[int]string{3: "api", 4: "admin"}}},
		{11, &inspect.Service{Unit: "app.service"}},
		{12, &inspect.Service{Unit: "session-4.scope"}},
		{13, &inspect.Service{FDNames: map[int]string{3: "web"}}},
		{14, &inspect.Service{Unit: "nginx.service"}},
		{15, nil},
		{16, nil}, // gone
		{17, nil},
		{18, &inspect.Service{FDNames: map[int]string{3: "web"}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, src.Service(tt.pid)); diff != "" {
			t.Errorf("pid %d (-want +got):\n%s", tt.pid, diff)
		}
	}
}

// BenchmarkSourceService reads the unit and fd names of every process of
// this machine, as a listing does for each holder it shows.
func BenchmarkSourceService(b *testing.B) {
	src := &Source{ProcRoot: "/proc"}
	d, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	var pids []int
	for _, e := range d {
		if pid, ok := parseDecimal(e.Name()); ok {
			pids = append(pids, pid)
		}
	}
	b.ReportMetric(float64(len(pids)), "procs")
	for b.Loop() {
		for _, pid := range pids {
			src.Service(pid)
		}
	}
}

// TestSourceServiceLargeEnviron: variables past the first buffer are
// found, and those past the bound are not read.
func TestSourceServiceLargeEnviron(t *testing.T) {
	pad := func(n int) string { return "PAD=" + strings.Repeat("x", n) }
	vars := string(env("LISTEN_PID=20", "LISTEN_FDS=1", "LISTEN_FDNAMES=late"))
	root := makeProcTree(t, map[string]string{
		"20/environ": string(env(pad(100<<10))) + vars,
		"21/environ": string(env(pad(maxEnviron))) + strings.ReplaceAll(vars, "=20", "=21"),
	}, nil)
	src := &Source{ProcRoot: root}
	if diff := cmp.Diff(&inspect.Service{FDNames: map[int]string{3: "late"}}, src.Service(20)); diff != "" {
		t.Errorf("past the first buffer (-want +got):\n%s", diff)
	}
	if got := src.Service(21); got != nil {
		t.Errorf("past the bound: %+v, want nothing", got)
	}
}
