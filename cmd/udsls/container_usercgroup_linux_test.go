//go:build linux

package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"
)

// TestContainerNameUserCgroup: a process in a docker-<id>.scope below a
// user's service manager, a subtree systemd delegates to that user, and
// one in a docker-<id>.scope below a system slice hold a listener each;
// root's Engine API names both ids. Only the system one gets its name:
// a user could otherwise give a scope of theirs the id of root's
// container and have their socket listed under its name.
func TestContainerNameUserCgroup(t *testing.T) {
	testenv.NeedRoot(t, "making cgroups")
	mount := cgroup2Mount(t)
	if mount == "" {
		testenv.Skipf(t, testenv.Root, "no cgroup2 hierarchy is mounted")
	}
	userID, sysID := strings.Repeat("1a", 32), strings.Repeat("2b", 32)
	dir := t.TempDir()
	eng := filepath.Join(dir, "engine.sock")
	l, err := net.Listen("unix", eng)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"Id":"` + userID + `","Names":["/prod-db"]},{"Id":"` + sysID + `","Names":["/web"]}]`))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	hold := func(name string) (string, int) {
		p := filepath.Join(dir, name)
		return p, testutil.HeldListener(t, p)
	}
	userSock, userPID := hold("user.sock")
	sysSock, sysPID := hold("sys.sock")
	slice := "udsls-test-" + strconv.Itoa(os.Getpid()) + ".slice"
	inCgroup(t, mount, filepath.Join(slice, "user@4243.service", "docker-"+userID+".scope"), userPID)
	inCgroup(t, mount, filepath.Join(slice, "docker-"+sysID+".scope"), sysPID)

	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-o", "json", "--docker-socket", eng, userSock, sysSock}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	got := map[string]string{}
	for _, s := range decodeListingJSON(t, stdout.String()).Sockets {
		if c := s.Container; c != nil {
			name := "<null>"
			if c.Name != nil {
				name = *c.Name
			}
			got[s.Path] = c.ID + " " + name
		}
	}
	if got[sysSock] != sysID+" web" {
		t.Errorf("system scope's socket: container %q, want %s web", got[sysSock], sysID)
	}
	if got[userSock] != userID+" <null>" {
		t.Errorf("user's scope's socket: container %q, want %s with no name", got[userSock], userID)
	}
}
