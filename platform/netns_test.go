package platform

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestNetnsPID(t *testing.T) {
	tests := []struct {
		root, netns string
		want        int
	}{
		{"/proc", "1234", 1234},
		{"/proc", "/proc/1234/ns/net", 1234},
		{"/proc", "/proc//1234/ns/net/", 1234},
		{"/host/proc", "/host/proc/7/ns/net", 7},
		{"/host/proc", "/proc/7/ns/net", 7},
		{"", "/proc/7/ns/net", 7},
		{"/proc", "/proc/self/ns/net", 0},
		{"/proc", "/proc/7/ns/mnt", 0},
		{"/proc", "/var/run/netns/blue", 0},
		{"/proc", "01", 0},
		{"/proc", "+1", 0},
		{"/proc", "-1", 0},
		{"/proc", "0", 0},
		{"/proc", "", 0},
	}
	for _, tt := range tests {
		if got := NetnsPID(Options{ProcRoot: tt.root, Netns: tt.netns}); got != tt.want {
			t.Errorf("NetnsPID(ProcRoot %q, Netns %q) = %d, want %d", tt.root, tt.netns, got, tt.want)
		}
	}
}

func TestNetnsFile(t *testing.T) {
	tests := []struct{ root, netns, want string }{
		{"/host/proc", "", "/host/proc/self/ns/net"},
		{"", "", "/proc/self/ns/net"},
		{"/host/proc", "42", "/host/proc/42/ns/net"},
		{"/host/proc", "/proc/42/ns/net", "/host/proc/42/ns/net"},
		{"/proc", "/var/run/netns/blue", "/var/run/netns/blue"},
	}
	for _, tt := range tests {
		if got := NetnsFile(Options{ProcRoot: tt.root, Netns: tt.netns}); got != filepath.FromSlash(tt.want) {
			t.Errorf("NetnsFile(ProcRoot %q, Netns %q) = %q, want %q", tt.root, tt.netns, got, tt.want)
		}
	}
}

// TestNetnsRoot runs on a procfs-shaped tree: what counts is which
// files are read and what is said when they are missing.
func TestNetnsRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "42", "ns"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("mnt:[4026531841]", filepath.Join(root, "42", "ns", "mnt")); err != nil {
		t.Fatal(err)
	}
	nsFile := filepath.Join(root, "netns-blue")
	if err := os.WriteFile(nsFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mountRoot := func(pid int) string { return "root of " + strconv.Itoa(pid) }
	tests := []struct {
		netns, want, wantErr string
	}{
		{netns: "42", want: "root of 42"},
		{netns: filepath.Join(root, "42", "ns", "net"), want: "root of 42"},
		{netns: "43", wantErr: "network namespace of pid 43: no such process"},
		{netns: nsFile, want: ""},
		{netns: filepath.Join(root, "missing"), wantErr: "network namespace \"" + filepath.Join(root, "missing") + "\": no such file or directory"},
	}
	for _, tt := range tests {
		got, err := NetnsRoot(Options{ProcRoot: root, Netns: tt.netns}, mountRoot)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("NetnsRoot(%q) = %q, %v; want error %q", tt.netns, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NetnsRoot(%q) = %q, %v; want %q", tt.netns, got, err, tt.want)
		}
	}
}
