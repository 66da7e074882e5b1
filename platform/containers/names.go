// Package containers names the containers that udsls finds socket holders
// in: it asks Docker and Podman over their Engine API (one call per
// runtime and run, made only when a holder runs in one of that runtime's
// containers), falls back to Docker's own files when the daemon does not
// answer, and reads the Kubernetes pod of a containerd or CRI-O container
// from the annotations of its OCI bundle. Everything a runtime says is
// untrusted: reads are bounded, malformed answers name nothing, and the
// names reach terminals only through render's escaping.
package containers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/udsls/udsls/inspect"
)

// Default places of the runtimes' sockets and state.
const (
	DockerSocket = "/var/run/docker.sock"
	PodmanSocket = "/run/podman/podman.sock"
	DockerRoot   = "/var/lib/docker"
)

// DefaultTimeout bounds each Engine API call: a daemon that hangs costs a
// listing no more than this.
const DefaultTimeout = time.Second

// Bounds on what is read from a runtime: a listing of thousands of
// containers, a bundle config with a large seccomp profile.
const (
	maxListing = 32 << 20
	maxConfig  = 4 << 20
)

// Namer fills in the names of containers. Its zero value is not ready:
// NewNamer gives the defaults. It is safe for concurrent use; each lookup
// is done once per Namer.
type Namer struct {
	// DockerSocket and PodmanSocket are the Engine API sockets; "" asks
	// no daemon.
	DockerSocket, PodmanSocket string
	// DockerRoot is dockerd's --data-root, where containers/ID/config.v2.json
	// names a container when the daemon does not answer.
	DockerRoot string
	// Bundles are where the config.json of an OCI bundle lies, with {id}
	// for the container id; a "*" matches a containerd namespace
	// (k8s.io, moby …).
	Bundles []string
	// Timeout bounds each API call.
	Timeout time.Duration

	mu      sync.Mutex
	engines map[string]*engine
	bundles map[string]*bundle
}

// engine is what one Engine API listing said: names by container id.
type engine struct {
	once  sync.Once
	names map[string]string
	err   error
	took  time.Duration
}

type bundle struct {
	once  sync.Once
	names bundleNames
}

// NewNamer returns a Namer that asks the daemons at the default sockets and
// reads the default state directories.
func NewNamer() *Namer {
	return &Namer{
		DockerSocket: DockerSocket,
		PodmanSocket: PodmanSocket,
		DockerRoot:   DockerRoot,
		Bundles: []string{
			// containerd's runc shim v2: one directory per namespace.
			"/run/containerd/io.containerd.runtime.v2.task/*/{id}/config.json",
			// CRI-O keeps the bundle with containers/storage.
			"/run/containers/storage/overlay-containers/{id}/userdata/config.json",
		},
		Timeout: DefaultTimeout,
	}
}

// Fill adds to c the names its runtime tells; what it does not tell stays
// "". It never fails: a runtime that cannot be asked names nothing.
func (n *Namer) Fill(c *inspect.Container) {
	if c.UserCgroup {
		n.fillUser(c)
		return
	}
	switch c.Runtime {
	case "docker":
		if name, ok := n.engineName("docker", n.DockerSocket, c.ID); ok {
			c.Name = name
			return
		}
		c.Name = dockerConfigName(n.DockerRoot, c.ID)
	case "podman":
		c.Name, _ = n.engineName("podman", n.PodmanSocket, c.ID)
	case "containerd", "cri-o", "kubepods":
		b := n.bundle(c.ID)
		c.Name, c.Pod, c.Namespace = b.name, b.pod, b.namespace
	}
}

// fillUser names a container whose cgroup its user made: only a daemon
// of that user (rootless docker or podman, asked with --docker-socket or
// --podman-socket) may name it. The system's daemons, files and bundles
// are root's: asked about an id a user chose, they would lend the user's
// process the name of a container of theirs.
func (n *Namer) fillUser(c *inspect.Container) {
	sock := ""
	switch c.Runtime {
	case "docker":
		sock = n.DockerSocket
	case "podman":
		sock = n.PodmanSocket
	}
	if uid, ok := socketOwner(sock); !ok || uid != c.UserUID {
		return
	}
	c.Name, _ = n.engineName(c.Runtime, sock, c.ID)
}

// Calls says, for --verbose, which Engine APIs were asked and how it went.
func (n *Namer) Calls() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, rt := range []string{"docker", "podman"} {
		e, ok := n.engines[rt]
		if !ok {
			continue
		}
		sock := n.DockerSocket
		if rt == "podman" {
			sock = n.PodmanSocket
		}
		if e.err != nil {
			out = append(out, fmt.Sprintf("%s API at %s: %v", rt, sock, e.err))
			continue
		}
		out = append(out, fmt.Sprintf("%d %s container names from the API at %s in %v", len(e.names), rt, sock, e.took.Round(time.Microsecond)))
	}
	return out
}

// engineName looks id up in the one listing of the daemon at sock.
func (n *Namer) engineName(runtime, sock, id string) (string, bool) {
	if sock == "" {
		return "", false
	}
	e := slot(&n.mu, &n.engines, runtime)
	e.once.Do(func() {
		t0 := time.Now()
		e.names, e.err = listContainers(sock, cmpDuration(n.Timeout, DefaultTimeout))
		e.took = time.Since(t0)
	})
	if e.err != nil {
		return "", false
	}
	name, ok := e.names[id]
	return name, ok
}

// slot is the entry of *m for key, made empty on first use. The lookup it
// holds runs under the entry's own sync.Once, outside mu: one slow daemon
// does not hold up the others.
func slot[T any](mu *sync.Mutex, m *map[string]*T, key string) *T {
	mu.Lock()
	defer mu.Unlock()
	if *m == nil {
		*m = map[string]*T{}
	}
	v, ok := (*m)[key]
	if !ok {
		v = new(T)
		(*m)[key] = v
	}
	return v
}

func cmpDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// listContainers asks the Engine API at sock for its running containers:
// GET /containers/json, which Docker and Podman's compatible API both
// serve. The path carries no version: a daemon answers an unversioned
// request at its own, and daemons refuse versions older than their
// minimum (Docker 29 refuses below 1.44).
func listContainers(sock string, timeout time.Duration) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
		DisableKeepAlives: true,
		// No proxy: the request goes to the socket, whatever the
		// environment says.
		Proxy: nil,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://engine/containers/json", nil)
	if err != nil {
		return nil, err
	}
	// A redirect is not followed: the listing is asked of the socket at
	// its one path, and a daemon that sends us elsewhere did not answer.
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return nil, unwrapURL(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /containers/json: %s", resp.Status)
	}
	body, err := readBounded(resp.Body, maxListing)
	if err != nil {
		return nil, fmt.Errorf("GET /containers/json: %w", err)
	}
	return parseContainerList(body)
}

// unwrapURL drops net/http's `Get "http://engine/…":` prefix, which names
// a host that does not exist.
func unwrapURL(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// parseContainerList reads the Engine API's container list: an array of
// objects with Id and Names, the names with a leading slash (Docker's,
// and Podman's compatible API). A container's first name is its own; the
// others are legacy links (/other/alias).
func parseContainerList(body []byte) (map[string]string, error) {
	var list []struct {
		ID    string   `json:"Id"`
		Names []string `json:"Names"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("GET /containers/json: %w", err)
	}
	names := make(map[string]string, len(list))
	for _, c := range list {
		if c.ID == "" || len(c.Names) == 0 {
			continue
		}
		names[c.ID] = strings.TrimPrefix(c.Names[0], "/")
	}
	return names, nil
}

// dockerConfigName reads the name from dockerd's own record of the
// container, root/containers/ID/config.v2.json; "" when it cannot.
func dockerConfigName(root, id string) string {
	if root == "" || !isID(id) {
		return ""
	}
	b, err := readFileBounded(filepath.Join(root, "containers", id, "config.v2.json"), maxConfig)
	if err != nil {
		return ""
	}
	return parseDockerConfig(b)
}

func parseDockerConfig(b []byte) string {
	var cfg struct {
		Name string `json:"Name"`
	}
	if json.Unmarshal(b, &cfg) != nil {
		return ""
	}
	return strings.TrimPrefix(cfg.Name, "/")
}

// bundleNames are the Kubernetes names of a container from its bundle.
type bundleNames struct{ name, pod, namespace string }

// bundle reads the OCI bundle config of container id from the first
// bundle directory that holds it.
func (n *Namer) bundle(id string) bundleNames {
	if !isID(id) {
		return bundleNames{}
	}
	b := slot(&n.mu, &n.bundles, id)
	b.once.Do(func() {
		for _, pat := range n.Bundles {
			// The id is 64 hex digits: no glob character, no slash.
			paths, _ := filepath.Glob(strings.ReplaceAll(pat, "{id}", id))
			for _, p := range paths {
				data, err := readFileBounded(p, maxConfig)
				if err != nil {
					continue
				}
				b.names = parseBundleConfig(data)
				return
			}
		}
	})
	return b.names
}

// CRI annotations of an OCI bundle. containerd's CRI plugin sets
// io.kubernetes.cri.* (containerd internal/cri/annotations); CRI-O sets
// io.kubernetes.cri-o.* and copies the kubelet's labels
// (io.kubernetes.pod.name …) into the annotations. A pod's sandbox (pause)
// container has the pod's names and no container name of its own.
const (
	criContainerName    = "io.kubernetes.cri.container-name"
	criSandboxName      = "io.kubernetes.cri.sandbox-name"
	criSandboxNamespace = "io.kubernetes.cri.sandbox-namespace"

	kubeContainerName = "io.kubernetes.container.name"
	kubePodName       = "io.kubernetes.pod.name"
	kubePodNamespace  = "io.kubernetes.pod.namespace"
	crioMetadata      = "io.kubernetes.cri-o.Metadata"    // {"name": container name, "namespace": …}
	crioSandboxName   = "io.kubernetes.cri-o.SandboxName" // k8s_POD_NAMESPACE_UID_ATTEMPT
	crioKubeName      = "io.kubernetes.cri-o.KubeName"    // a sandbox's pod name
	crioNamespace     = "io.kubernetes.cri-o.Namespace"   // a sandbox's namespace

	criContainerType  = "io.kubernetes.cri.container-type"  // "sandbox" or "container"
	crioContainerType = "io.kubernetes.cri-o.ContainerType" // the same for CRI-O
)

// parseBundleConfig reads the Kubernetes names from an OCI runtime config
// (config.json); a malformed one names nothing.
func parseBundleConfig(data []byte) bundleNames {
	var cfg struct {
		Annotations map[string]string `json:"annotations"`
	}
	if json.Unmarshal(data, &cfg) != nil {
		return bundleNames{}
	}
	a := cfg.Annotations
	var meta struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	}
	if m := a[crioMetadata]; m != "" && json.Unmarshal([]byte(m), &meta) != nil {
		meta.Name, meta.Namespace = "", ""
	}
	pod, ns := sandboxName(a[crioSandboxName])
	b := bundleNames{
		name:      first(a[criContainerName], a[kubeContainerName], meta.Name),
		pod:       first(a[criSandboxName], a[kubePodName], a[crioKubeName], pod),
		namespace: first(a[criSandboxNamespace], a[kubePodNamespace], a[crioNamespace], meta.Namespace, ns),
	}
	// A sandbox is the pod's, and CRI-O's metadata of one names the pod;
	// the kubelet calls its container POD.
	if a[criContainerType] == "sandbox" || a[crioContainerType] == "sandbox" {
		b.name = "POD"
	}
	return b
}

// sandboxName splits the kubelet's name of a pod sandbox,
// k8s_POD_NAMESPACE_UID_ATTEMPT (pkg/kubelet/kuberuntime naming, as
// dockershim made it): pod names and namespaces hold no underscore.
func sandboxName(s string) (pod, namespace string) {
	parts := strings.Split(s, "_")
	if len(parts) != 5 || parts[0] != "k8s" {
		return "", ""
	}
	return parts[1], parts[2]
}

func first(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// isID reports the 64 lowercase hex digits every runtime uses; anything
// else is not looked up, so no id can lead a path elsewhere.
func isID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return true
}

var errTooLarge = errors.New("too large")

func readBounded(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", errTooLarge, limit)
	}
	return b, nil
}

// readFileBounded reads a regular file. The state directories are the
// runtimes', but a config.json that is a FIFO (or a link to one, or to a
// device) would block the open or never end: O_NONBLOCK opens a FIFO
// without waiting for a writer, and only a regular file is read.
func readFileBounded(p string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	return readBounded(f, limit)
}
