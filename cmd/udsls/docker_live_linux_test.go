package main

import (
	"archive/tar"
	"bufio"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/containers"
	"github.com/udsls/udsls/platform/testenv"
)

// dockerd is a docker daemon of the test's own: its socket, data root and
// exec root in a temporary directory, no iptables and no bridge, so that
// it touches nothing of the machine's.
type dockerd struct {
	dir, sock, root string
	docker          string // the CLI
}

// startDockerd starts the daemon and stops it, its containers and mounts
// with the test, failed or not.
func startDockerd(t *testing.T) *dockerd {
	t.Helper()
	testenv.NeedRoot(t, "dockerd runs as root")
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		testenv.Skipf(t, testenv.Docker, "dockerd is not installed (Debian package docker.io)")
	}
	cli := "/usr/bin/docker" // docker.io's, which matches its daemon
	if _, err := os.Stat(cli); err != nil {
		if cli, err = exec.LookPath("docker"); err != nil {
			testenv.Skipf(t, testenv.Docker, "the docker CLI is not installed (Debian package docker.io)")
		}
	}
	// t.TempDir's long names would pass the 108 bytes of a socket path
	// inside the exec root.
	dir, err := os.MkdirTemp("", "udsls-dockerd-")
	if err != nil {
		t.Fatal(err)
	}
	d := &dockerd{dir: dir, sock: filepath.Join(dir, "docker.sock"), root: filepath.Join(dir, "root"), docker: cli}
	cfg := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(cfg, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--host", "unix://"+d.sock,
		"--data-root", d.root,
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"--config-file", cfg,
		"--iptables=false", "--ip6tables=false", "--bridge=none",
		// vfs works on any file system, and the image is one binary.
		"--storage-driver=vfs",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		testenv.Skipf(t, testenv.Docker, "dockerd: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil {
				t.Logf("dockerd log (tail):\n%s", tail(string(b), 3000))
			}
		}
		// Containers first, while the daemon can still stop them.
		if out, err := exec.Command(cli, "-H", "unix://"+d.sock, "ps", "-aq").Output(); err == nil {
			if ids := strings.Fields(string(out)); len(ids) > 0 {
				exec.Command(cli, append([]string{"-H", "unix://" + d.sock, "rm", "-f"}, ids...)...).Run()
			}
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			// The daemon's group: it and the containerd it started.
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		logf.Close()
		unmountUnder(t, dir)
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing the daemon's directory: %v", err)
		}
	})
	// Ready when it answers a ping.
	client := engineClient(d.sock)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get("http://docker/_ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logf.Name())
			testenv.Skipf(t, testenv.Docker, "dockerd cannot run here: it exited:\n%s", tail(string(b), 2000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dockerd did not answer on %s within 60s", d.sock)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return d
}

func engineClient(sock string) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// unmountUnder lazily unmounts whatever the daemon left mounted below dir
// (shm, a container's root), deepest first.
func unmountUnder(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			mounts = append(mounts, fields[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		if err := syscall.Unmount(mounts[i], syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			t.Errorf("unmount %s: %v", mounts[i], err)
		}
	}
}

// run runs the docker CLI against the test's daemon.
func (d *dockerd) run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(d.docker, append([]string{"-H", "unix://" + d.sock}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// importImage makes an image of busybox-static's /bin/busybox and a static
// listener built from testdata/ctrlisten, from a tar the test writes.
func (d *dockerd) importImage(t *testing.T, name string) {
	t.Helper()
	busybox := "/bin/busybox"
	f, err := elf.Open(busybox)
	if err != nil {
		testenv.Skipf(t, testenv.Tools, "%s: %v (Debian package busybox-static)", busybox, err)
	}
	// A dynamic one (Debian's busybox) asks for an interpreter the
	// image does not have.
	dynamic := slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
	f.Close()
	if dynamic {
		testenv.Skipf(t, testenv.Tools, "%s is dynamically linked: install busybox-static", busybox)
	}
	listen := filepath.Join(d.dir, "ctrlisten")
	build := exec.Command("go", "build", "-o", listen, "./testdata/ctrlisten")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the listener: %v\n%s", err, out)
	}
	tarPath := filepath.Join(d.dir, "image.tar")
	out, err := os.Create(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(out)
	for _, dir := range []string{"bin/", "dev/", "run/", "tmp/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	for name, src := range map[string]string{"bin/busybox": busybox, "bin/ctrlisten": listen} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o755, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/sh", Linkname: "busybox"}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	d.run(t, "import", tarPath, name)
}

// startContainer runs a named container with no network and waits until
// the socket it binds at sock (a path inside it) listens or takes
// datagrams; it returns the id and the pid of its process.
func (d *dockerd) startContainer(t *testing.T, name, image, sock string, args ...string) (id string, pid int) {
	t.Helper()
	return d.startContainerNet(t, "none", name, image, sock, args...)
}

// startContainerNet is startContainer on the network named.
func (d *dockerd) startContainerNet(t *testing.T, network, name, image, sock string, args ...string) (id string, pid int) {
	t.Helper()
	// Options for docker run come before a "--", the command after it.
	var opts []string
	if i := slices.Index(args, "--"); i >= 0 {
		opts, args = args[:i], args[i+1:]
	}
	run := append([]string{"run", "-d", "--name", name, "--network", network}, opts...)
	id = d.run(t, append(append(run, image), args...)...)
	pid, err := strconv.Atoi(d.run(t, "inspect", "-f", "{{.State.Pid}}", id))
	if err != nil || pid <= 0 {
		t.Fatalf("container %s: pid %d (%v): %s", name, pid, err, d.run(t, "logs", id))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if serving(pid, sock) {
			return id, pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s did not serve %s within 30s; logs:\n%s", name, sock, d.run(t, "logs", id))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serving says whether process pid's network namespace has a socket
// bound at sock that listens, or takes datagrams, and the file is there.
// The file appears at bind, before listen: a test that looked then found
// the socket bound but not listening.
func serving(pid int, sock string) bool {
	proc := filepath.Join("/proc", strconv.Itoa(pid))
	if _, err := os.Stat(filepath.Join(proc, "root", sock)); err != nil {
		return false
	}
	data, err := os.ReadFile(filepath.Join(proc, "net", "unix"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		// Num RefCount Protocol Flags Type St Inode Path (unix_seq_show)
		f := strings.Fields(line)
		if len(f) != 8 || f[7] != sock {
			continue
		}
		const acceptCon = 1 << 16 // __SO_ACCEPTCON: listening
		flags, err1 := strconv.ParseUint(f[3], 16, 32)
		typ, err2 := strconv.ParseUint(f[4], 16, 16)
		if err1 == nil && err2 == nil && (flags&acceptCon != 0 || typ == syscall.SOCK_DGRAM) {
			return true
		}
	}
	return false
}

// TestDockerContainerNames lists the sockets of two named containers of a
// real dockerd by their names, filters by name and id, and names them from
// the daemon's files when its API does not answer.
func TestDockerContainerNames(t *testing.T) {
	d := startDockerd(t)
	d.importImage(t, "udsls-busybox:test")
	webID, webPID := d.startContainer(t, "udsls-web", "udsls-busybox:test", "/run/web.sock", "/bin/ctrlisten", "/run/web.sock")
	logID, logPID := d.startContainer(t, "udsls-log", "udsls-busybox:test", "/dev/log", "/bin/busybox", "syslogd", "-n", "-O", "-")
	api := "--docker-socket=" + d.sock

	type row struct {
		Path, Runtime, ID string
		Name              *string
		PID               int
	}
	rows := func(t *testing.T, args ...string) []row {
		t.Helper()
		code, out, errOut := runUdsls(append([]string{"-o", "json", api}, args...)...)
		if code != exitOK {
			t.Fatalf("udsls %q: exit %d, stderr %q", args, code, errOut)
		}
		var doc struct {
			Sockets []struct {
				Path      string `json:"path"`
				Container *struct {
					ID        string  `json:"id"`
					Runtime   string  `json:"runtime"`
					Name      *string `json:"name"`
					Pod       *string `json:"pod"`
					Namespace *string `json:"namespace"`
				} `json:"container"`
				Processes []struct {
					PID int `json:"pid"`
				} `json:"processes"`
			} `json:"sockets"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v in\n%s", err, out)
		}
		var got []row
		for _, s := range doc.Sockets {
			r := row{Path: s.Path}
			if c := s.Container; c != nil {
				r.Runtime, r.ID, r.Name = c.Runtime, c.ID, c.Name
				if c.Pod != nil || c.Namespace != nil {
					t.Errorf("%s: a docker container with a pod: %+v", s.Path, c)
				}
			}
			if len(s.Processes) > 0 {
				r.PID = s.Processes[0].PID
			}
			got = append(got, r)
		}
		return got
	}
	str := func(s string) *string { return &s }
	log := row{Path: "/dev/log", Runtime: "docker", ID: logID, Name: str("udsls-log"), PID: logPID}
	web := row{Path: "/run/web.sock", Runtime: "docker", ID: webID, Name: str("udsls-web"), PID: webPID}

	t.Run("both by name", func(t *testing.T) {
		if diff := cmp.Diff([]row{log, web}, rows(t, "--container", "udsls-*")); diff != "" {
			t.Errorf("--container udsls-* (-want +got):\n%s", diff)
		}
		// -N shows them among the host's, labelled the same.
		var got []row
		for _, r := range rows(t, "-N") {
			if r.ID == webID || r.ID == logID {
				got = append(got, r)
			}
		}
		if diff := cmp.Diff([]row{log, web}, got); diff != "" {
			t.Errorf("-N (-want +got):\n%s", diff)
		}
	})

	t.Run("one by name or id", func(t *testing.T) {
		for _, sel := range []string{"udsls-web", "udsls-w*", webID[:12], webID} {
			if diff := cmp.Diff([]row{web}, rows(t, "--container", sel)); diff != "" {
				t.Errorf("--container %s (-want +got):\n%s", sel, diff)
			}
		}
		code, out, _ := runUdsls(api, "--container", "udsls-nothing")
		if code != exitNo || out != "" {
			t.Errorf("--container udsls-nothing: exit %d, stdout %q; want 1 and nothing", code, out)
		}
	})

	t.Run("table", func(t *testing.T) {
		code, out, errOut := runUdsls(api, "-N", "-W", "--color=never", "--container", "udsls-*")
		if code != exitOK {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		for _, want := range []string{"/docker:udsls-web", "/docker:udsls-log"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q in\n%s", want, out)
			}
		}
		if strings.Contains(out, webID[:12]) {
			t.Errorf("the id is shown though the name is known:\n%s", out)
		}
	})

	t.Run("prometheus", func(t *testing.T) {
		code, out, errOut := runUdsls(api, "-o", "prometheus", "--container", "udsls-web")
		if code != exitOK {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		if want := `container="udsls-web"`; !strings.Contains(out, want) {
			t.Errorf("no %s in\n%s", want, out)
		}
	})

	t.Run("verbose says one call", func(t *testing.T) {
		code, _, errOut := runUdsls(api, "-v", "-o", "json", "--container", "udsls-*")
		if code != exitOK || strings.Count(errOut, "docker container names from the API at "+d.sock) != 1 {
			t.Errorf("exit %d, stderr:\n%s", code, errOut)
		}
	})

	t.Run("audit", func(t *testing.T) {
		// --audit reads this network namespace and judges paths in this
		// mount namespace: a container on the host's network binding in a
		// volume mounted at the same path is audited, and its socket open
		// to everyone found.
		share, err := os.MkdirTemp("", "udsls-share-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(share) })
		// Everyone may reach into it, as into /run.
		if err := os.Chmod(share, 0o755); err != nil {
			t.Fatal(err)
		}
		sock := filepath.Join(share, "hostnet.sock")
		d.startContainerNet(t, "host", "udsls-hostnet", "udsls-busybox:test", sock, "-v", share+":"+share, "--", "/bin/ctrlisten", sock, "0666")
		code, out, errOut := runUdsls(api, "--audit", "-o", "json", "--container", "udsls-hostnet")
		var rep struct {
			Findings []struct {
				Path string `json:"path"`
				Rule string `json:"rule"`
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("exit %d, stderr %q: %v in\n%s", code, errOut, err, out)
		}
		if code != exitNo || len(rep.Findings) == 0 {
			t.Errorf("exit %d, findings %+v; want 1 and the world-reachable socket\n%s", code, rep.Findings, errOut)
		}
		for _, f := range rep.Findings {
			if f.Path != sock {
				t.Errorf("finding of another container's or the host's socket: %+v", f)
			}
		}
		// A container with a network of its own has no socket here.
		code, out, errOut = runUdsls(api, "--audit", "--container", "udsls-web")
		if code != exitNo || out != "" || !strings.Contains(errOut, "nothing was audited") {
			t.Errorf("--audit --container udsls-web: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})

	t.Run("API down", func(t *testing.T) {
		// No one listens at the socket: the names come from
		// config.v2.json in the daemon's data root.
		n := containers.NewNamer()
		n.DockerSocket, n.DockerRoot = filepath.Join(d.dir, "nobody.sock"), d.root
		for id, want := range map[string]string{webID: "udsls-web", logID: "udsls-log"} {
			c := &inspect.Container{ID: id, Runtime: "docker"}
			n.Fill(c)
			if c.Name != want {
				t.Errorf("%s: name %q, want %q from config.v2.json", id[:12], c.Name, want)
			}
		}
		if calls := n.Calls(); len(calls) != 1 || !strings.Contains(calls[0], "connect") {
			t.Errorf("Calls() = %q, want the failed connection", calls)
		}
		// Through the CLI, with the default data root: the id, and no
		// error, whatever /var/lib/docker holds.
		code, out, errOut := runUdsls("-o", "json", "--docker-socket="+n.DockerSocket, "--container", webID[:12])
		if code != exitOK || !strings.Contains(out, webID) {
			t.Errorf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
		}
	})
}
