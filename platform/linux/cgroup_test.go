package linux

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
)

func TestParseCgroup(t *testing.T) {
	id := strings.Repeat("4f1c", 16)
	tests := []struct {
		name string
		in   string
		want *inspect.Container
	}{
		{"docker systemd", "0::/system.slice/docker-" + id + ".scope\n", &inspect.Container{ID: id, Runtime: "docker"}},
		{"docker cgroupfs", "0::/docker/" + id + "\n", &inspect.Container{ID: id, Runtime: "docker"}},
		{"docker v1", "12:pids:/docker/" + id + "\n11:memory:/docker/" + id + "\n1:name=systemd:/docker/" + id + "\n", &inspect.Container{ID: id, Runtime: "docker"}},
		{"docker nested cgroup", "0::/docker/" + id + "/init.scope\n", &inspect.Container{ID: id, Runtime: "docker"}},
		{"rootless docker", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/docker-" + id + ".scope\n", &inspect.Container{ID: id, Runtime: "docker", UserCgroup: true, UserUID: 1000}},
		{"rootless podman", "0::/user.slice/user-1001.slice/user@1001.service/user.slice/libpod-" + id + ".scope/container\n", &inspect.Container{ID: id, Runtime: "podman", UserCgroup: true, UserUID: 1001}},
		{"user's docker path", "0::/user.slice/user-1000.slice/user@1000.service/docker/" + id + "\n", &inspect.Container{ID: id, Runtime: "docker", UserCgroup: true, UserUID: 1000}},
		{"root's user manager", "0::/user.slice/user-0.slice/user@0.service/docker-" + id + ".scope\n", &inspect.Container{ID: id, Runtime: "docker", UserCgroup: true}},
		{"session scope", "0::/user.slice/user-1000.slice/session-3.scope/docker-" + id + ".scope\n", &inspect.Container{ID: id, Runtime: "docker"}},
		{"containerd kubernetes", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f9a1b2c_3d4e.slice/cri-containerd-" + id + ".scope\n", &inspect.Container{ID: id, Runtime: "containerd"}},
		{"nerdctl", "0::/system.slice/nerdctl-" + id + ".scope\n", &inspect.Container{ID: id, Runtime: "containerd"}},
		{"cri-o", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12ab.slice/crio-" + id + ".scope\n", &inspect.Container{ID: id, Runtime: "cri-o"}},
		{"cri-o conmon", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12ab.slice/crio-conmon-" + id + ".scope\n", nil},
		{"podman", "0::/machine.slice/libpod-" + id + ".scope/container\n", &inspect.Container{ID: id, Runtime: "podman"}},
		{"podman cgroupfs", "0::/libpod_parent/libpod-" + id + "\n", &inspect.Container{ID: id, Runtime: "podman"}},
		{"podman conmon", "0::/machine.slice/libpod-conmon-" + id + ".scope\n", nil},
		{"kubepods cgroupfs", "0::/kubepods/besteffort/pod0f9a1b2c-3d4e/" + id + "\n", &inspect.Container{ID: id, Runtime: "kubepods"}},
		{"kubepods v1", "4:memory:/kubepods/burstable/pod0f9a1b2c-3d4e/" + id + "\n0::/\n", &inspect.Container{ID: id, Runtime: "kubepods"}},
		{"host service", "0::/system.slice/ssh.service\n", nil},
		{"host root", "0::/\n", nil},
		{"docker daemon itself", "0::/system.slice/docker.service\n", nil},
		{"short id", "0::/docker/" + id[:12] + "\n", nil},
		{"upper-case id", "0::/docker/" + strings.ToUpper(id) + "\n", nil},
		{"id under an unknown parent", "0::/somewhere/" + id + "\n", nil},
		{"colon in path", "0::/odd:name/docker-" + id + ".scope\n", &inspect.Container{ID: id, Runtime: "docker"}},
		{"no trailing newline", "0::/docker/" + id, &inspect.Container{ID: id, Runtime: "docker"}},
		{"malformed", "garbage\n0:only-one-colon\n", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *inspect.Container
			if c, ok := parseCgroup([]byte(tt.in)); ok {
				got = &c
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseCgroup(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func FuzzParseCgroup(f *testing.F) {
	f.Add([]byte("0::/system.slice/docker-" + strings.Repeat("ab", 32) + ".scope\n"))
	f.Add([]byte("12:pids:/kubepods/besteffort/pod1/" + strings.Repeat("0", 64) + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, ok := parseCgroup(b)
		if ok && (!isContainerID(c.ID) || c.Runtime == "") {
			t.Errorf("parseCgroup(%q) = %+v", b, c)
		}
	})
}

func TestSourceContainer(t *testing.T) {
	id := strings.Repeat("ab", 32)
	root := makeProcTree(t, map[string]string{
		"10/cgroup": "0::/system.slice/docker-" + id + ".scope\n",
		"11/cgroup": "0::/user.slice\n",
	}, nil)
	src := &Source{ProcRoot: root}
	if diff := cmp.Diff(&inspect.Container{ID: id, Runtime: "docker"}, src.Container(10)); diff != "" {
		t.Errorf("pid 10 (-want +got):\n%s", diff)
	}
	for _, pid := range []int{11, 12} { // on the host; gone
		if c := src.Container(pid); c != nil {
			t.Errorf("pid %d labelled %+v, want none", pid, c)
		}
	}
}
