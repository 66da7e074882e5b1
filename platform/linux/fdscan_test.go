package linux

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/udsls/udsls/inspect"
)

func TestParseSocketLink(t *testing.T) {
	tests := []struct {
		link   string
		want   inspect.SocketID
		wantOK bool
	}{
		{"socket:[20414]", 20414, true},
		{"socket:[0]", 0, true},
		{"socket:[18446744073709551615]", 1<<64 - 1, true},
		{"socket:[18446744073709551616]", 0, false},
		{"socket:[]", 0, false},
		{"socket:[+1]", 0, false},
		{"socket:[12", 0, false},
		{"socket:[1a]", 0, false},
		{"pipe:[20414]", 0, false},
		{"/dev/null", 0, false},
		{"anon_inode:[eventfd]", 0, false},
		{"/srv/socket:[1]", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.link, func(t *testing.T) {
			got, ok := parseSocketLink(tt.link)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("parseSocketLink(%q) = %d, %v, want %d, %v", tt.link, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		name   string
		want   int
		wantOK bool
	}{
		{"1", 1, true},
		{"4194304", 4194304, true},
		{"1073741823", 1073741823, true}, // the largest fd nr_open allows
		{"0", 0, true},
		{"", 0, false},
		{"+1", 0, false},
		{"-1", 0, false},
		{"self", 0, false},
		{"12a", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseDecimal(tt.name)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("parseDecimal(%q) = %d, %v, want %d, %v", tt.name, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// makeProcTree builds a fake procfs under a new directory: files maps a
// path to its content, links a path to a symlink's target.
func makeProcTree(t *testing.T, files, links map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range links {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// fakeFDs are fd tables of two processes sharing socket 20414, with entries
// the walk must pass over.
var fakeFDs = map[string]string{
	"123/fd/4":  "socket:[20414]",
	"123/fd/5":  "/dev/null",
	"123/fd/6":  "socket:[20425]",
	"124/fd/0":  "socket:[20414]",
	"124/fd/1":  "pipe:[77]",
	"124/fd/x":  "socket:[1]",
	"self":      "123",
	"125/fd/10": "socket:[999]", // a socket of another network namespace
}

var fakeOwners = []inspect.Owner{
	{ID: 20414, PID: 123, FD: 4},
	{ID: 20425, PID: 123, FD: 6},
	{ID: 20414, PID: 124, FD: 0},
	{ID: 999, PID: 125, FD: 10},
}

// sortOwners makes the walk's order, which is the directory's, not matter.
var sortOwners = cmpopts.SortSlices(func(a, b inspect.Owner) bool {
	if a.PID != b.PID {
		return a.PID < b.PID
	}
	return a.FD < b.FD
})

func TestScanFDs(t *testing.T) {
	// 126 has exited and left its directory without fd/; 127's fd is not
	// a directory, which no real procfs does.
	root := makeProcTree(t, map[string]string{"126/status": "", "127/fd": ""}, fakeFDs)
	scan, err := scanFDs(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fakeOwners, scan.owners, sortOwners); diff != "" {
		t.Errorf("owners mismatch (-want +got):\n%s", diff)
	}
	if scan.denied != 0 || scan.failed != 1 || !errors.Is(scan.err, syscall.ENOTDIR) {
		t.Errorf("scan denied %d, failed %d (%v), want 0, 1 (not a directory)", scan.denied, scan.failed, scan.err)
	}
}

func TestScanFDsErrors(t *testing.T) {
	root := makeProcTree(t, nil, fakeFDs)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := scanFDs(canceled, root); !errors.Is(err, context.Canceled) {
		t.Errorf("scanFDs with a canceled context: error %v, want %v", err, context.Canceled)
	}
	if _, err := scanFDs(context.Background(), filepath.Join(root, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("scanFDs of a missing root: error %v, want one that is os.ErrNotExist", err)
	}
}

func TestFDScanWarnings(t *testing.T) {
	tests := []struct {
		name string
		scan fdScan
		want []string
	}{
		{"none", fdScan{}, nil},
		{"one denied", fdScan{denied: 1}, []string{"1 process unreadable (permission denied); run as root for all owners"}},
		{"denied as root", fdScan{denied: 4, deniedPIDs: []int{1, 7, 9}, root: true}, []string{"4 processes unreadable even as root (permission denied: pid 1, 7, 9, ...); their sockets show no owner"}},
		{
			"denied and failed",
			fdScan{denied: 41, failed: 2, err: errors.New("open 7/fd: too many open files")},
			[]string{
				"41 processes unreadable (permission denied); run as root for all owners",
				"2 processes unreadable: open 7/fd: too many open files",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.scan.warnings()); diff != "" {
				t.Errorf("warnings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
