package capture

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/linux"
)

const macCaptures = "../../testdata/macos/"

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func snapshot(t *testing.T, specs ...string) *inspect.Snapshot {
	t.Helper()
	src, err := New(specs)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// TestFromCapturesMacOS joins the jc netstat capture with an lsof -F
// listing in the macOS layout of FORMATS.md §1.3, made up for two of its
// sockets: no public capture pairs the two tools.
func TestFromCapturesMacOS(t *testing.T) {
	lsof := writeFile(t, "lsof.txt", "p1\nclaunchd\nu0\nLroot\n"+
		"f3\ntunix\nd0x7fb03cb93501c195\nn/private//var/run/syslog\n"+
		"f4\ntunix\nd0x7fb03cb94a63c89d\nn->0x7fb03cb93501c195\n")
	snap := snapshot(t, "netstat:"+macCaptures+"netstat-jc-osx-10.14.6.txt", "lsof:"+lsof)
	if snap.Backend != "capture" || len(snap.Sockets) != 425 || len(snap.Warnings) != 0 {
		t.Errorf("backend %q, %d sockets, warnings %q; want capture, 425, none", snap.Backend, len(snap.Sockets), snap.Warnings)
	}
	want := []inspect.Owner{{ID: 0x7fb03cb93501c195, PID: 1, FD: 3}, {ID: 0x7fb03cb94a63c89d, PID: 1, FD: 4}}
	if diff := cmp.Diff(want, snap.Owners); diff != "" {
		t.Errorf("owners (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff(map[int]inspect.Process{1: {PID: 1, Command: "launchd", User: "root"}}, snap.Processes); diff != "" {
		t.Errorf("processes (-want +got)\n%s", diff)
	}
	for _, s := range snap.Sockets {
		if s.ID == 0x7fb03cb94a63c89d && (s.Peer != 0x7fb03cb93501c195 || s.Type != inspect.TypeDgram) {
			t.Errorf("syslog sender: %+v", s)
		}
	}

	// Snapshots are copies: changing one leaves the next alone.
	src, err := New([]string{"lsof:" + lsof})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := src.Snapshot(context.Background())
	a.Sockets[0].Path, a.Owners[0].PID, a.Processes[1] = "changed", 99, inspect.Process{}
	b, _ := src.Snapshot(context.Background())
	if b.Sockets[0].Path != "/private//var/run/syslog" || b.Owners[0].PID != 1 || b.Processes[1].Command != "launchd" {
		t.Errorf("second snapshot changed with the first: %+v", b)
	}
}

func TestFromCapturesAlone(t *testing.T) {
	for _, tt := range []struct {
		spec             string
		sockets, owners  int
		warnings         int
		processes        int
		firstPath        string
		firstType        inspect.Type
		firstStateListen bool
	}{
		{spec: "lsof:" + macCaptures + "lsof-aUc-launchd_sim-appium-ios-simulator-2023.txt", sockets: 13, owners: 18, processes: 2,
			firstPath: "/private/tmp/com.apple.launchd.ULf9wKNtd5/com.apple.webinspectord_sim.socket"},
		{spec: "lsof:" + macCaptures + "linux-lsof-U-F0-local-debian12.txt", sockets: 10, owners: 10, processes: 1,
			firstPath: "/tmp/udsls/demo/listen.sock", firstType: inspect.TypeStream, firstStateListen: true},
		{spec: "netstat:" + macCaptures + "netstat-unix-excerpt-testinfra-macos-2017.txt", sockets: 7, warnings: 2,
			firstPath: "/var/run/mDNSResponder", firstType: inspect.TypeStream},
	} {
		t.Run(filepath.Base(tt.spec), func(t *testing.T) {
			snap := snapshot(t, tt.spec)
			if len(snap.Sockets) != tt.sockets || len(snap.Owners) != tt.owners || len(snap.Warnings) != tt.warnings || len(snap.Processes) != tt.processes {
				t.Errorf("got %d sockets, %d owners, %d warnings, %d processes; want %d, %d, %d, %d",
					len(snap.Sockets), len(snap.Owners), len(snap.Warnings), len(snap.Processes), tt.sockets, tt.owners, tt.warnings, tt.processes)
			}
			s := snap.Sockets[0]
			if s.Path != tt.firstPath || s.Type != tt.firstType || (s.State == inspect.StateListening) != tt.firstStateListen {
				t.Errorf("first socket %+v", s)
			}
		})
	}
}

func TestFromCapturesErrors(t *testing.T) {
	dir := t.TempDir()
	badLsof := writeFile(t, "bad-lsof.txt", "p1\nf3\ntunix\nd0xzz\n")
	badNetstat := writeFile(t, "bad-netstat.txt", "Active LOCAL (UNIX) domain sockets\nAddress Type\n")
	badProcnet := writeFile(t, "bad-procnet.txt", "Num RefCount\n")
	procnet := writeFile(t, "procnet.txt", "Num       RefCount Protocol Flags    Type St Inode Path\n")
	netstat := macCaptures + "netstat-au-kunnan-macos-10.13-excerpt.txt"
	macLsof := macCaptures + "lsof-U-rednafi-macos-m1-2023-excerpt.txt"
	linuxLsof := macCaptures + "linux-lsof-U-F-local-debian12.txt"
	for _, tt := range []struct {
		name  string
		specs []string
		want  string
		is    error
	}{
		{"no kind", []string{"capture.txt"}, `capture "capture.txt": want KIND:FILE with KIND one of lsof, netstat, procnet`, nil},
		{"no file", []string{"lsof:"}, `capture "lsof:": want KIND:FILE`, nil},
		{"unknown kind", []string{"ss:x.txt"}, `capture "ss:x.txt": unknown kind "ss" (want lsof, netstat, procnet)`, nil},
		{"missing", []string{"lsof:" + dir + "/none.txt"}, `capture "lsof:` + dir + `/none.txt": open ` + dir + `/none.txt: no such file or directory`, os.ErrNotExist},
		{"directory", []string{"netstat:" + dir}, `capture "netstat:` + dir + `": read ` + dir + `: is a directory`, nil},
		{"bad lsof", []string{"lsof:" + badLsof}, `capture "lsof:` + badLsof + `": line 4: malformed: device "0xzz" is not a 0x address`, ErrMalformed},
		{"bad netstat", []string{"netstat:" + badNetstat}, `capture "netstat:` + badNetstat + `": line 2: malformed: unknown unix header "Address Type"`, ErrMalformed},
		{"bad procnet", []string{"procnet:" + badProcnet}, `capture "procnet:` + badProcnet + `": /proc/net/unix line 1: `, linux.ErrMalformed},
		{"twice", []string{"lsof:" + macLsof, "lsof:" + macLsof}, `capture "lsof:` + macLsof + `": a second lsof capture; give at most one of each kind`, nil},
		{"both tables", []string{"netstat:" + netstat, "procnet:" + procnet}, `captures: netstat (macOS) and procnet (Linux) cannot be combined`, nil},
		{"none", nil, `captures: none given`, nil},
		{"no inodes", []string{"procnet:" + procnet, "lsof:" + macLsof}, `capture "lsof:` + macLsof + `": no socket inodes (the i field) to join with /proc/net/unix`, nil},
		{"inodes", []string{"netstat:" + netstat, "lsof:" + linuxLsof}, `capture "lsof:` + linuxLsof + `": Linux lsof output cannot be joined with netstat`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, err := New(tt.specs)
			if err == nil {
				_, err = src.Snapshot(context.Background())
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("got error %v, want %q (wrapping %v)", err, tt.want, tt.is)
			}
		})
	}
}

// TestFromCapturesNothingJoins combines real captures of different
// machines: no socket of lsof is in the other list, which must be said
// rather than shown as two halves that never meet.
func TestFromCapturesNothingJoins(t *testing.T) {
	lsof := macCaptures + "lsof-U-rednafi-macos-m1-2023-excerpt.txt"
	netstat := macCaptures + "netstat-jc-osx-10.14.6.txt"
	snap := snapshot(t, "lsof:"+lsof, "netstat:"+netstat)
	want := []string{`no socket of capture "lsof:` + lsof + `" matches one of capture "netstat:` + netstat + `": were they taken on one machine at one moment?`}
	if diff := cmp.Diff(want, snap.Warnings); diff != "" {
		t.Errorf("warnings (-want +got)\n%s", diff)
	}
	if !snap.Addresses {
		t.Errorf("IDs of macOS captures not marked as kernel addresses")
	}

	// Linux: lsof's inodes are none of /proc/net/unix's.
	lsof = macCaptures + "linux-lsof-U-F-local-debian12.txt"
	procnet := "../../testdata/linux/proc_net_unix.txt"
	snap = snapshot(t, "lsof:"+lsof, "procnet:"+procnet)
	want = []string{`no socket of capture "lsof:` + lsof + `" matches one of capture "procnet:` + procnet + `": were they taken on one machine at one moment?`}
	if diff := cmp.Diff(want, snap.Warnings); diff != "" {
		t.Errorf("warnings (-want +got)\n%s", diff)
	}
	if snap.Addresses {
		t.Errorf("inodes of Linux captures marked as kernel addresses")
	}
}

// TestFromCapturesExactAddresses checks that kernel addresses, 64-bit
// values that an IEEE double cannot hold, reach the snapshot exact: the
// FreeBSD pair below differs by 256, which a double rounds away, and the
// IDs of a real 425-socket macOS capture stay distinct though doubles
// merge many of them.
func TestFromCapturesExactAddresses(t *testing.T) {
	snap := snapshot(t, "netstat:"+macCaptures+"freebsd-netstat-an-jc-freebsd12.txt")
	const a, b uint64 = 0xfffff80003ab6100, 0xfffff80003ab6200
	if float64(a) != float64(b) {
		t.Fatal("the pair no longer shows a double's rounding")
	}
	found := false
	for _, s := range snap.Sockets {
		if uint64(s.ID) == a {
			found = true
			if uint64(s.Peer) != b {
				t.Errorf("socket %#x: peer %#x, want %#x", a, uint64(s.Peer), uint64(b))
			}
		}
	}
	if !found || !snap.Addresses {
		t.Errorf("socket %#x found %v, Addresses %v; want both", a, found, snap.Addresses)
	}

	snap = snapshot(t, "netstat:"+macCaptures+"netstat-jc-osx-10.14.6.txt")
	ids, doubles := map[inspect.SocketID]bool{}, map[float64]bool{}
	for _, s := range snap.Sockets {
		ids[s.ID], doubles[float64(s.ID)] = true, true
	}
	if len(ids) != len(snap.Sockets) || len(doubles) >= len(ids) {
		t.Errorf("%d sockets, %d distinct IDs, %d distinct as doubles; want %d, %d, fewer", len(snap.Sockets), len(ids), len(doubles), len(snap.Sockets), len(snap.Sockets))
	}
	t.Logf("%d sockets: %d distinct IDs, %d distinct as doubles", len(snap.Sockets), len(ids), len(doubles))
}

// TestFromCapturesCRLF reads real captures with CRLF line ends, as they
// come back from Windows: the same sockets as the originals.
func TestFromCapturesCRLF(t *testing.T) {
	for _, spec := range []string{
		"lsof:" + macCaptures + "lsof-aUc-launchd_sim-appium-ios-simulator-2023.txt",
		"lsof:" + macCaptures + "linux-lsof-U-F-local-debian12.txt",
		"netstat:" + macCaptures + "netstat-jc-osx-10.14.6.txt",
		"procnet:../../testdata/linux/proc_net_unix.txt",
	} {
		t.Run(filepath.Base(spec), func(t *testing.T) {
			kind, file, _ := strings.Cut(spec, ":")
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			crlf := writeFile(t, "crlf.txt", strings.ReplaceAll(string(data), "\n", "\r\n"))
			want, got := snapshot(t, spec), snapshot(t, kind+":"+crlf)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}
