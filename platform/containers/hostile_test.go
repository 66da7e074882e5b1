package containers

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/udsls/udsls/inspect"
)

// fillWithin runs Fill in a goroutine and fails the test when it has not
// returned in a minute: a read that blocks forever would hang the listing.
func fillWithin(t *testing.T, n *Namer, c *inspect.Container) {
	t.Helper()
	done := make(chan struct{})
	go func() { n.Fill(c); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("Fill(%s %s) still blocked after a minute", c.Runtime, c.ID[:8])
	}
}

// A config.json or config.v2.json that is a FIFO (or a symlink to one, or
// to a device) names nothing, and reading it must not block: opening a
// FIFO with no writer waits forever.
func TestNamerFilesNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo, link, dev, dockerFifo := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64), strings.Repeat("d", 64)
	mk := func(p string) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := syscall.Mkfifo(mk(filepath.Join(dir, "b", fifo, "config.json")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "b", fifo, "config.json"), mk(filepath.Join(dir, "b", link, "config.json"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", mk(filepath.Join(dir, "b", dev, "config.json"))); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(mk(filepath.Join(dir, "docker", "containers", dockerFifo, "config.v2.json")), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &Namer{Bundles: []string{filepath.Join(dir, "b", "{id}", "config.json")}, DockerRoot: filepath.Join(dir, "docker")}
	for _, c := range []*inspect.Container{
		{ID: fifo, Runtime: "containerd"},
		{ID: link, Runtime: "cri-o"},
		{ID: dev, Runtime: "kubepods"},
		{ID: dockerFifo, Runtime: "docker"},
	} {
		fillWithin(t, n, c)
		if c.Name != "" || c.Pod != "" || c.Namespace != "" {
			t.Errorf("%s %s: named %+v from a file that is not a regular one", c.Runtime, c.ID[:8], c)
		}
	}
}

// The Engine API is asked for one listing at the socket; a redirect
// elsewhere is not followed, and what the daemon answers is read within
// the timeout even when the body never ends.
func TestNamerEngineHostile(t *testing.T) {
	id := strings.Repeat("e", 64)
	list := `[{"Id":"` + id + `","Names":["/web"]}]`
	t.Run("redirect", func(t *testing.T) {
		var paths []string
		sock, calls := engineServer(t, func(w http.ResponseWriter, r *http.Request) {
			paths = append(paths, r.URL.Path)
			if r.URL.Path == "/containers/json" {
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
				return
			}
			w.Write([]byte(list))
		})
		n := &Namer{DockerSocket: sock, Timeout: 5 * time.Second}
		c := &inspect.Container{ID: id, Runtime: "docker"}
		fillWithin(t, n, c)
		if c.Name != "" || calls.Load() != 1 {
			t.Errorf("name %q after requests to %q: a redirect was followed", c.Name, paths)
		}
		if notes := n.Calls(); len(notes) != 1 || !strings.Contains(notes[0], "302") {
			t.Errorf("Calls() = %q, want the 302 named", notes)
		}
	})
	t.Run("endless body", func(t *testing.T) {
		sock, _ := engineServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`[{"Id":"` + id + `","Names":["/`))
			chunk := []byte(strings.Repeat("x", 4096))
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				time.Sleep(10 * time.Millisecond)
			}
		})
		n := &Namer{DockerSocket: sock, Timeout: 300 * time.Millisecond}
		c := &inspect.Container{ID: id, Runtime: "docker"}
		fillWithin(t, n, c)
		if c.Name != "" {
			t.Errorf("name %q from a body that never ended", c.Name)
		}
	})
}

// A container whose cgroup lies under a user's service manager is one the
// user made, with whatever id the user chose: the system's daemon, files
// and bundles do not name it (they would lend it a root container's name),
// a daemon whose socket that user owns does.
func TestNamerUserCgroup(t *testing.T) {
	id := strings.Repeat("f", 64)
	list := `[{"Id":"` + id + `","Names":["/prod-db"]}]`
	sock, calls := engineServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(list)) })
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	owner := fi.Sys().(*syscall.Stat_t).Uid
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "containers", id), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "containers", id, "config.v2.json"), []byte(`{"Name":"/prod-db"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	bundles := t.TempDir()
	if err := os.MkdirAll(filepath.Join(bundles, id), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundles, id, "config.json"), []byte(`{"annotations": {"io.kubernetes.cri.container-name": "prod-db", "io.kubernetes.cri.sandbox-name": "p"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &Namer{DockerSocket: sock, PodmanSocket: sock, DockerRoot: root, Bundles: []string{filepath.Join(bundles, "{id}", "config.json")}}
	for _, c := range []*inspect.Container{
		{ID: id, Runtime: "docker", UserCgroup: true, UserUID: owner + 1},
		{ID: id, Runtime: "podman", UserCgroup: true, UserUID: owner + 1},
		{ID: id, Runtime: "containerd", UserCgroup: true, UserUID: owner},
		{ID: id, Runtime: "kubepods", UserCgroup: true, UserUID: owner},
	} {
		fillWithin(t, n, c)
		if c.Name != "" || c.Pod != "" {
			t.Errorf("%s container of uid %d's cgroup named %q (pod %q)", c.Runtime, c.UserUID, c.Name, c.Pod)
		}
	}
	if calls.Load() != 0 {
		t.Errorf("%d calls to a daemon of uid %d for containers of uid %d", calls.Load(), owner, owner+1)
	}
	c := &inspect.Container{ID: id, Runtime: "docker", UserCgroup: true, UserUID: owner}
	fillWithin(t, n, c)
	if c.Name != "prod-db" {
		t.Errorf("named %q by its own user's daemon, want prod-db", c.Name)
	}
}
