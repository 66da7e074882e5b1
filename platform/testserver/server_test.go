//go:build linux || darwin

package testserver

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// only returns the one socket with the role.
func only(t *testing.T, m Manifest, r Role) Socket {
	t.Helper()
	var found []Socket
	for _, s := range m.Sockets {
		if s.Role == r {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("manifest has %d sockets with role %s, want 1", len(found), r)
	}
	return found[0]
}

func TestManifestShape(t *testing.T) {
	dir := t.TempDir()
	m := start(t, Config{Dir: dir, Count: 2}).Manifest()

	type row struct {
		Role     Role
		Name     string // path relative to dir, or the abstract name
		Abstract bool
		Type     inspect.Type
		State    inspect.State
		Queued   int
		Held     bool
		Peered   bool
	}
	var got []row
	for _, s := range m.Sockets {
		name := s.Path
		if !s.Abstract && name != "" {
			var err error
			if name, err = filepath.Rel(dir, s.Path); err != nil {
				t.Fatalf("%s: path %q is outside %q", s.Role, s.Path, dir)
			}
		}
		if s.Role == RoleAbstract {
			want := "@udsls-serve-" + strconv.Itoa(os.Getpid()) + "-"
			if !strings.HasPrefix(name, want) {
				t.Errorf("abstract name %q does not start with %q", name, want)
			}
			name = "@"
		}
		got = append(got, row{s.Role, name, s.Abstract, s.Type, s.State, s.Queued, s.PID != 0 && s.FD != 0 && s.Inode != 0, s.PeerInode != 0})
	}
	listening, connected := inspect.StateListening, inspect.StateConnected
	stream := inspect.TypeStream
	want := []row{
		{RoleEchoStream, "echo.sock", false, stream, listening, 0, true, false},
		{RoleAccepted, "echo.sock", false, stream, connected, 0, true, true},
		{RoleClient, "", false, stream, connected, len(echoMsg), true, true},
		{RoleEchoDgram, "echo-dgram.sock", false, inspect.TypeDgram, inspect.StateUnconnected, 0, true, false},
	}
	want = append(want, osRows(func(r Role, name string, typ inspect.Type) row {
		return row{r, name, r == RoleAbstract, typ, listening, 0, true, false}
	})...)
	want = append(want,
		row{RoleFull, "full.sock", false, stream, listening, 1, true, false},
		row{RolePending, "", false, stream, connected, 0, true, false},
		row{RolePairA, "", false, stream, connected, len(pairMsg), true, true},
		row{RolePairB, "", false, stream, connected, 0, true, true},
		row{RoleStale, "stale.sock", false, stream, 0, 0, false, false},
		row{RoleHostile, hostileName, false, stream, listening, 0, true, false},
	)
	for i := range 2 {
		name := "set-" + strconv.Itoa(i) + ".sock"
		want = append(want,
			row{RoleSetListener, name, false, stream, listening, 0, true, false},
			row{RoleSetAccepted, name, false, stream, connected, 0, true, true},
			row{RoleSetClient, "", false, stream, connected, 0, true, true},
		)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
	if m.Dir != dir || m.PID != os.Getpid() {
		t.Errorf("manifest dir %q pid %d, want %q %d", m.Dir, m.PID, dir, os.Getpid())
	}
}

// TestDescriptors checks each socket against fstat of its descriptor.
func TestDescriptors(t *testing.T) {
	m := start(t, Config{Count: 3}).Manifest()
	byInode := map[uint64]Socket{}
	for _, s := range m.Sockets {
		if s.Role == RoleStale {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstat(s.FD, &st); err != nil {
			t.Fatalf("%s: fstat fd %d: %v", s.Role, s.FD, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFSOCK || uint64(st.Ino) != s.Inode {
			t.Errorf("%s: fd %d has mode %o inode %d, want a socket with inode %d", s.Role, s.FD, st.Mode, st.Ino, s.Inode)
		}
		if _, dup := byInode[s.Inode]; dup {
			t.Errorf("%s: inode %d listed twice", s.Role, s.Inode)
		}
		byInode[s.Inode] = s
	}
	for _, s := range m.Sockets {
		if s.PeerInode == 0 {
			continue
		}
		if p, ok := byInode[s.PeerInode]; !ok || p.PeerInode != s.Inode {
			t.Errorf("%s: peer inode %d does not point back (peer %+v)", s.Role, s.PeerInode, p)
		}
	}
}

// TestQueued asks the kernel how many bytes wait unread.
func TestQueued(t *testing.T) {
	m := start(t, Config{}).Manifest()
	for _, r := range []Role{RoleClient, RolePairA, RolePairB, RoleSetClient} {
		for _, s := range m.Sockets {
			if s.Role != r {
				continue
			}
			n, err := unix.IoctlGetInt(s.FD, inqIoctl)
			if err != nil {
				t.Fatalf("%s: ioctl %#x: %v", r, inqIoctl, err)
			}
			if n != s.Queued {
				t.Errorf("%s: %d bytes queued, manifest says %d", r, n, s.Queued)
			}
		}
	}
	if c := only(t, m, RoleClient); c.Queued == 0 {
		t.Errorf("client has nothing queued")
	}
}

func TestEchoStream(t *testing.T) {
	m := start(t, Config{}).Manifest()
	c, err := net.Dial("unix", only(t, m, RoleEchoStream).Path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := []byte("ping\x00pong")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Errorf("echo %q, want %q", got, msg)
	}
}

func TestEchoDgram(t *testing.T) {
	m := start(t, Config{}).Manifest()
	to := &net.UnixAddr{Name: only(t, m, RoleEchoDgram).Path, Net: "unixgram"}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(t.TempDir(), "c"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, msg := range []string{"one", "two, longer"} {
		if _, err := c.WriteToUnix([]byte(msg), to); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, from, err := c.ReadFromUnix(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != msg || from.Name != to.Name {
			t.Errorf("got %q from %q, want %q from %q", buf[:n], from.Name, msg, to.Name)
		}
	}
}

func TestStale(t *testing.T) {
	m := start(t, Config{}).Manifest()
	s := only(t, m, RoleStale)
	fi, err := os.Lstat(s.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		t.Errorf("%q has mode %v, want a socket", s.Path, fi.Mode())
	}
	_, err = net.Dial("unix", s.Path)
	if !errors.Is(err, unix.ECONNREFUSED) {
		t.Errorf("dial stale: %v, want ECONNREFUSED", err)
	}
}

// TestFull checks that the full listener refuses a second connection: the
// kernel says EAGAIN for a non-blocking connect on Linux and refuses it on
// macOS.
func TestFull(t *testing.T) {
	m := start(t, Config{}).Manifest()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	err = unix.Connect(fd, &unix.SockaddrUnix{Name: only(t, m, RoleFull).Path})
	if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.ECONNREFUSED) {
		t.Errorf("connect to full listener: %v, want EAGAIN or ECONNREFUSED", err)
	}
}

func TestCount(t *testing.T) {
	base := len(start(t, Config{}).Manifest().Sockets)
	m := start(t, Config{Count: 50}).Manifest()
	if got := len(m.Sockets) - base; got != 150 {
		t.Errorf("Count 50 added %d sockets, want 150", got)
	}
	paths := map[string]bool{}
	for _, s := range m.Sockets {
		if s.Role == RoleSetListener {
			paths[s.Path] = true
		}
	}
	if len(paths) != 50 {
		t.Errorf("%d distinct set listener paths, want 50", len(paths))
	}
}

func TestCloseRemovesFiles(t *testing.T) {
	tests := []struct {
		name    string
		dir     func(t *testing.T) string // "" for a temp dir
		dirKept bool
	}{
		{"temp", func(*testing.T) string { return "" }, false},
		{"existing", func(t *testing.T) string { return t.TempDir() }, true},
		{"created", func(t *testing.T) string { return filepath.Join(t.TempDir(), "new") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(Config{Dir: tt.dir(t), Count: 2})
			if err != nil {
				t.Fatal(err)
			}
			dir := s.Manifest().Dir
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			ents, err := os.ReadDir(dir)
			switch {
			case tt.dirKept && err != nil:
				t.Errorf("dir was there before Start and is gone: %v", err)
			case tt.dirKept && len(ents) > 0:
				t.Errorf("Close left %d files in %q", len(ents), dir)
			case !tt.dirKept && !errors.Is(err, fs.ErrNotExist):
				t.Errorf("ReadDir after Close: %v, want the dir gone", err)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative count", Config{Count: -1}, "testserver: negative count -1"},
		{"not a dir", Config{Dir: file}, "testserver: " + strconv.Quote(file) + " is not a directory"},
		{"missing parent", Config{Dir: filepath.Join(file, "x")}, "not a directory"},
		{"path too long", Config{Dir: long}, "the kernel takes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(tt.cfg)
			if err == nil {
				s.Close()
				t.Fatalf("Start(%+v) succeeded", tt.cfg)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
	if _, err := os.Stat(long); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("failed Start left its dir behind: %v", err)
	}
}

func TestPath(t *testing.T) {
	tests := []struct {
		dir, name, want string
	}{
		{"/run/x", "a.sock", "/run/x/a.sock"},
		{"rel", "a.sock", "rel/a.sock"},
		{"./rel/", "a.sock", "rel/a.sock"},
		{"@rel", "a.sock", "./@rel/a.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			s := &Server{manifest: Manifest{Dir: tt.dir}}
			got, err := s.path(tt.name)
			if err != nil || got != tt.want {
				t.Errorf("path(%q) in %q = %q, %v; want %q", tt.name, tt.dir, got, err, tt.want)
			}
		})
	}
}

func BenchmarkStart(b *testing.B) {
	for _, n := range []int{0, 1000} {
		b.Run("count="+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				s, err := Start(Config{Count: n})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
