package containers

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
)

func TestParseBundleConfig(t *testing.T) {
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name string
		in   string
		want bundleNames
	}{
		{"containerd container", read("cri-containerd-container.json"), bundleNames{"busybox", "nginx-sandbox", "default"}},
		{"containerd sandbox", read("cri-containerd-sandbox.json"), bundleNames{"POD", "nginx-sandbox", "default"}},
		// Started with crictl: no kubelet labels, the names come from
		// CRI-O's metadata and the sandbox's name.
		{"cri-o container", read("cri-o-container.json"), bundleNames{"podsandbox1-redis", "podsandbox1", "redhat.test.crio"}},
		{"cri-o sandbox", read("cri-o-sandbox.json"), bundleNames{"POD", "podsandbox1", "redhat.test.crio"}},
		{"cri-o with kubelet labels", `{"annotations": {"io.kubernetes.container.name": "api", "io.kubernetes.pod.name": "billing-7f9c", "io.kubernetes.pod.namespace": "shop",
			"io.kubernetes.cri-o.SandboxName": "k8s_other_elsewhere_uid_0"}}`, bundleNames{"api", "billing-7f9c", "shop"}},
		{"docker's bundle", `{"ociVersion": "1.0.2-dev", "annotations": {}}`, bundleNames{}},
		{"no annotations", `{"ociVersion": "1.0.2-dev"}`, bundleNames{}},
		{"malformed metadata", `{"annotations": {"io.kubernetes.cri-o.Metadata": "{\"name\":", "io.kubernetes.cri-o.SandboxName": "k8s_p_ns_uid_1"}}`, bundleNames{"", "p", "ns"}},
		{"sandbox name of another shape", `{"annotations": {"io.kubernetes.cri-o.SandboxName": "k8s_p_ns"}}`, bundleNames{}},
		{"truncated", read("cri-containerd-container.json")[:400], bundleNames{}},
		{"annotations not strings", `{"annotations": {"io.kubernetes.cri.container-name": 7}}`, bundleNames{}},
		{"annotations a list", `{"annotations": ["io.kubernetes.cri.container-name"]}`, bundleNames{}},
		{"not an object", `[]`, bundleNames{}},
		{"empty", ``, bundleNames{}},
		{"binary", "\x00\xff{", bundleNames{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseBundleConfig([]byte(tt.in)), cmp.AllowUnexported(bundleNames{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseBundleConfig(f *testing.F) {
	for _, n := range []string{"cri-containerd-container.json", "cri-o-container.json", "cri-o-sandbox.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { parseBundleConfig(b) })
}

// listing is what dockerd 20.10 (Debian's docker.io) answered to
// GET /containers/json, cut to one container.
const listing = `[{"Id":"8f47ea3a461d21b4b8696725d956bb93a746706682810e97c1ead773cc471845","Names":["/sleeper"],"Image":"udsls-bb:test",` +
	`"ImageID":"sha256:324ebbc0339add12c75986ead3ecd6d4a496b46518e8bb9334ae6d70b8b476ff","Command":"/bin/busybox sleep 300","Created":1796092790,` +
	`"Ports":[],"Labels":{},"State":"running","Status":"Up 1 second","HostConfig":{"NetworkMode":"none"}}]`

func TestParseContainerList(t *testing.T) {
	id := "8f47ea3a461d21b4b8696725d956bb93a746706682810e97c1ead773cc471845"
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr bool
	}{
		{"dockerd", listing, map[string]string{id: "sleeper"}, false},
		{"none", `[]`, map[string]string{}, false},
		{"links after the name", `[{"Id":"a","Names":["/web","/proxy/web"]}]`, map[string]string{"a": "web"}, false},
		// Podman's libpod API names without the slash.
		{"no slash", `[{"Id":"a","Names":["web"]}]`, map[string]string{"a": "web"}, false},
		{"no names", `[{"Id":"a","Names":[]},{"Id":"","Names":["/x"]}]`, map[string]string{}, false},
		{"hostile name", `[{"Id":"a","Names":["/\u001b[2Jx\n"]}]`, map[string]string{"a": "\x1b[2Jx\n"}, false},
		{"error object", `{"message":"client version 1.41 is too old"}`, nil, true},
		{"names not strings", `[{"Id":"a","Names":[1]}]`, nil, true},
		{"truncated", listing[:100], nil, true},
		{"empty", ``, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseContainerList([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseContainerList(f *testing.F) {
	f.Add([]byte(listing))
	f.Fuzz(func(t *testing.T, b []byte) {
		names, err := parseContainerList(b)
		if err == nil && names == nil {
			t.Errorf("no error and no map for %q", b)
		}
	})
}

func TestParseDockerConfig(t *testing.T) {
	for in, want := range map[string]string{
		`{"ID":"8f47","Name":"/sleeper","State":{"Running":true}}`: "sleeper",
		`{"Name":""}`: "",
		`{"Name":7}`:  "",
		`{"Name":"/x`: "",
		``:            "",
	} {
		if got := parseDockerConfig([]byte(in)); got != want {
			t.Errorf("parseDockerConfig(%q) = %q, want %q", in, got, want)
		}
	}
}

// engineServer serves an Engine API on a Unix socket in a temporary
// directory, counting the calls.
func engineServer(t *testing.T, h http.HandlerFunc) (sock string, calls *atomic.Int32) {
	t.Helper()
	sock = filepath.Join(t.TempDir(), "engine.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	calls = &atomic.Int32{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		h(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock, calls
}

// One listing per run, made for the first container asked about, answers
// every later one; a daemon that fails sends the names to the files.
func TestNamerEngine(t *testing.T) {
	a, b, c := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "containers", c), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "containers", c, "config.v2.json"), []byte(`{"ID":"`+c+`","Name":"/from-disk"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	list := `[{"Id":"` + a + `","Names":["/web"]},{"Id":"` + b + `","Names":["/db"]}]`
	fill := func(n *Namer, rt, id string) string {
		ctr := &inspect.Container{ID: id, Runtime: rt}
		n.Fill(ctr)
		return ctr.Name
	}

	t.Run("one call", func(t *testing.T) {
		var path string
		sock, calls := engineServer(t, func(w http.ResponseWriter, r *http.Request) {
			path = r.URL.Path
			w.Write([]byte(list))
		})
		n := &Namer{DockerSocket: sock, DockerRoot: root}
		got := []string{fill(n, "docker", a), fill(n, "docker", b), fill(n, "docker", a), fill(n, "docker", c)}
		// c is not running, as the API says: its file still names it.
		if diff := cmp.Diff([]string{"web", "db", "web", "from-disk"}, got); diff != "" {
			t.Errorf("names (-want +got):\n%s", diff)
		}
		if calls.Load() != 1 || path != "/containers/json" {
			t.Errorf("%d calls, last to %q; want one to /containers/json", calls.Load(), path)
		}
		if notes := n.Calls(); len(notes) != 1 || !strings.HasPrefix(notes[0], "2 docker container names from the API at "+sock) {
			t.Errorf("Calls() = %q", notes)
		}
	})

	t.Run("podman", func(t *testing.T) {
		sock, calls := engineServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(list)) })
		n := &Namer{PodmanSocket: sock, DockerRoot: root}
		if got := fill(n, "podman", b); got != "db" || calls.Load() != 1 {
			t.Errorf("podman %s: %q after %d calls", b, got, calls.Load())
		}
		// A podman container is not looked for in docker's files.
		if got := fill(n, "podman", c); got != "" {
			t.Errorf("podman %s: %q, want none", c, got)
		}
	})

	t.Run("no call without a container", func(t *testing.T) {
		sock, calls := engineServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(list)) })
		n := &Namer{DockerSocket: sock, PodmanSocket: sock}
		fill(n, "containerd", a)
		fill(n, "kubepods", a)
		if calls.Load() != 0 || len(n.Calls()) != 0 {
			t.Errorf("%d calls for containers of no engine", calls.Load())
		}
	})

	for _, tt := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"error status", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"message":"client version 1.41 is too old"}`, http.StatusBadRequest)
		}},
		{"malformed", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(list[:40])) }},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`[{"Id":"` + c + `","Names":["/` + strings.Repeat("x", maxListing) + `"]}]`))
		}},
		{"hangs", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sock, calls := engineServer(t, tt.h)
			n := &Namer{DockerSocket: sock, DockerRoot: root, Timeout: 200 * time.Millisecond}
			if got := fill(n, "docker", c); got != "from-disk" {
				t.Errorf("name %q, want from-disk from config.v2.json", got)
			}
			if got := fill(n, "docker", a); got != "" {
				t.Errorf("name %q for a container with no file", got)
			}
			if calls.Load() != 1 {
				t.Errorf("%d calls, want 1", calls.Load())
			}
			if notes := n.Calls(); len(notes) != 1 || !strings.Contains(notes[0], "docker API at "+sock+": ") {
				t.Errorf("Calls() = %q", notes)
			}
		})
	}

	t.Run("no daemon", func(t *testing.T) {
		n := &Namer{DockerSocket: filepath.Join(t.TempDir(), "absent.sock"), DockerRoot: root}
		if got := fill(n, "docker", c); got != "from-disk" {
			t.Errorf("name %q, want from-disk", got)
		}
	})
}

func TestNamerBundles(t *testing.T) {
	dir := t.TempDir()
	ctr, sandbox, crio, bad, big := strings.Repeat("1", 64), strings.Repeat("2", 64), strings.Repeat("3", 64), strings.Repeat("4", 64), strings.Repeat("5", 64)
	put := func(p, src string, data []byte) {
		t.Helper()
		if src != "" {
			var err error
			if data, err = os.ReadFile(filepath.Join("testdata", src)); err != nil {
				t.Fatal(err)
			}
		}
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	put("containerd/k8s.io/"+ctr+"/config.json", "cri-containerd-container.json", nil)
	put("containerd/k8s.io/"+sandbox+"/config.json", "cri-containerd-sandbox.json", nil)
	put("crio/"+crio+"/userdata/config.json", "cri-o-container.json", nil)
	put("containerd/k8s.io/"+bad+"/config.json", "", []byte(`{"annotations": {"io.kubernetes.cri.container-name": "x"`))
	put("containerd/k8s.io/"+big+"/config.json", "", []byte(`{"annotations": {"io.kubernetes.cri.container-name": "x"}, "pad": "`+strings.Repeat(" ", maxConfig)+`"}`))
	n := &Namer{Bundles: []string{
		filepath.Join(dir, "containerd/*/{id}/config.json"),
		filepath.Join(dir, "crio/{id}/userdata/config.json"),
	}}
	tests := []struct {
		id, runtime string
		want        inspect.Container
	}{
		{ctr, "containerd", inspect.Container{Name: "busybox", Pod: "nginx-sandbox", Namespace: "default"}},
		{sandbox, "containerd", inspect.Container{Name: "POD", Pod: "nginx-sandbox", Namespace: "default"}},
		{crio, "cri-o", inspect.Container{Name: "podsandbox1-redis", Pod: "podsandbox1", Namespace: "redhat.test.crio"}},
		// The cgroupfs driver does not say which runtime: every place is tried.
		{crio, "kubepods", inspect.Container{Name: "podsandbox1-redis", Pod: "podsandbox1", Namespace: "redhat.test.crio"}},
		{bad, "containerd", inspect.Container{}},
		{big, "containerd", inspect.Container{}},
		{strings.Repeat("6", 64), "containerd", inspect.Container{}},
		// An id that is not one is never made into a path.
		{"../../../etc", "containerd", inspect.Container{}},
		// Docker's containers are named by docker.
		{ctr, "docker", inspect.Container{}},
	}
	for _, tt := range tests {
		c := inspect.Container{ID: tt.id, Runtime: tt.runtime}
		n.Fill(&c)
		tt.want.ID, tt.want.Runtime = tt.id, tt.runtime
		if diff := cmp.Diff(tt.want, c); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tt.runtime, tt.id[:min(8, len(tt.id))], diff)
		}
	}
}
