package sys

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/testenv"
)

// TestOverlayLayers: the layer directories are read from an overlay's
// options only when none is in doubt; anything odd leaves the overlay's
// layers unknown, which keeps the conservative rule.
func TestOverlayLayers(t *testing.T) {
	tests := []struct {
		opts string
		want []string // nil: in doubt
	}{
		{"rw,lowerdir=/l,upperdir=/u,workdir=/w", []string{"/l", "/u", "/w"}},
		{"rw,relatime,lowerdir=/a:/b,upperdir=/u,workdir=/w,redirect_dir=on,index=off,xino=off,uuid=on,metacopy=off", []string{"/a", "/b", "/u", "/w"}},
		{"ro,lowerdir=/a:/b", []string{"/a", "/b"}},
		{"ro,lowerdir=/a::/data", []string{"/a", "/data"}},
		// mountinfo's octal escapes: a blank, a comma, '=' in a path.
		{`rw,lowerdir=/with\040blank,upperdir=/u\054v,workdir=/w\075x`, []string{"/with blank", "/u,v", "/w=x"}},
		{"rw,lowerdir+=/a,lowerdir+=/b:c,datadir+=/d,upperdir=/u,workdir=/w", []string{"/a", "/b:c", "/d", "/u", "/w"}},
		// overlayfs's own escapes ("\:" "\,"), which mountinfo shows as \134.
		{`rw,lowerdir=/a\134:b,upperdir=/u,workdir=/w`, nil},
		{`rw,lowerdir=/a\134\054b,upperdir=/u,workdir=/w`, nil},
		// Broken octal escapes.
		{`rw,lowerdir=/a\04,upperdir=/u,workdir=/w`, nil},
		{`rw,lowerdir=/a\0x1,upperdir=/u,workdir=/w`, nil},
		{`rw,lowerdir=/a\777,upperdir=/u,workdir=/w`, nil},
		{`rw,lowerdir=/a\`, nil},
		// Relative, unclean, empty or missing paths.
		{"rw,lowerdir=l,upperdir=/u,workdir=/w", nil},
		{"rw,lowerdir=/l,upperdir=./u,workdir=/w", nil},
		{"rw,lowerdir=/l/../m,upperdir=/u,workdir=/w", nil},
		{"rw,lowerdir=/l/,upperdir=/u,workdir=/w", nil},
		{"rw,lowerdir=,upperdir=/u,workdir=/w", nil},
		{"rw,lowerdir,upperdir=/u,workdir=/w", nil},
		{"rw,lowerdir=:/l,upperdir=/u,workdir=/w", nil},
		{"rw,lowerdir=/l:,upperdir=/u,workdir=/w", nil},
		{"rw,lowerdir=/a:::/b", nil},
		{"rw,upperdir=/u,workdir=/w", nil},
		{"rw,lowerdir=/l,upperdir=/u", nil},
		{"rw,lowerdir=/l,workdir=/w", nil},
		{"", nil},
		{`\`, nil},
		// Forms mixed or repeated, and layer kinds not known.
		{"rw,lowerdir=/a,lowerdir+=/b,upperdir=/u,workdir=/w", nil},
		{"rw,lowerdir=/a,lowerdir=/b", nil},
		{"rw,lowerdir=/l,upperdir=/u,workdir=/w,upperdir=/v", nil},
		{"rw,lowerdir=/l,upperdir=/u,workdir=/w,newdir=/n", nil},
		{"rw,lowerdir=/l,upperdir=/u,workdir=/w,datadir=/d", nil},
	}
	for _, tt := range tests {
		got, ok := overlayLayers(tt.opts)
		if ok != (tt.want != nil) || !slices.Equal(got, tt.want) {
			t.Errorf("overlayLayers(%q) = %q, %v; want %q", tt.opts, got, ok, tt.want)
		}
	}
}

// FuzzOverlayLayers: whatever the options, the layers read are absolute
// and clean, without a '\' left.
func FuzzOverlayLayers(f *testing.F) {
	f.Add(`rw,lowerdir=/a\040b::/d,upperdir=/u,workdir=/w`)
	f.Add("lowerdir+=/a,datadir+=/b")
	f.Fuzz(func(t *testing.T, opts string) {
		paths, ok := overlayLayers(opts)
		if !ok {
			return
		}
		if len(paths) == 0 {
			t.Fatalf("%q: no layers, yet known", opts)
		}
		for _, p := range paths {
			if !filepath.IsAbs(p) || filepath.Clean(p) != p || slices.Contains([]byte(p), '\\') {
				t.Fatalf("%q: layer %q", opts, p)
			}
		}
	})
}

// TestStackLayers: an overlay's layers are its layer directories'
// devices, and an overlay under a layer adds its own; a layer that cannot
// be stat'ed, or an unknown stack under one, leaves them unknown.
func TestStackLayers(t *testing.T) {
	dir := t.TempDir()
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	disk := st.Dev
	inner, broken, fuse := unix.Mkdev(0, 900001), unix.Mkdev(0, 900003), unix.Mkdev(0, 900004)
	s := &stacks{plain: map[uint64]bool{}, memo: map[uint64]inspect.Stack{}, others: true, overlays: map[uint64]string{
		inner:  "rw,lowerdir=" + dir,
		broken: "rw,lowerdir=" + dir + "/missing",
	}}
	if got := s.stack(inner, 0); !got.Stacked || !got.Known || !slices.Equal(got.Layers, []uint64{disk}) {
		t.Errorf("an overlay on %d: %+v", disk, got)
	}
	if got := s.stack(broken, 0); got.Known || !got.Stacked {
		t.Errorf("an overlay whose layer is missing: %+v", got)
	}
	if got := s.stack(fuse, 0); got.Known || !got.Stacked {
		t.Errorf("an anonymous device no mountinfo lists: %+v", got)
	}
	if got := s.stack(disk, 0); got.Stacked {
		t.Errorf("a disk: %+v", got)
	}
	if got := (&stacks{plain: s.plain, memo: map[uint64]inspect.Stack{}, others: true, overlays: s.overlays}).stack(inner, maxStackDepth); got.Known {
		t.Errorf("past the depth bound: %+v", got)
	}
}

// TestStackNested: an overlay whose lower layer is on another overlay has
// that overlay's layers too, found through our real mountinfo.
func TestStackNested(t *testing.T) {
	testenv.NeedRoot(t, "mounting tmpfs and overlayfs")
	base := t.TempDir()
	p := func(n string) string { return filepath.Join(base, n) }
	mount := func(dir string, args ...string) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mount", append(args, dir)...).CombinedOutput(); err != nil {
			t.Fatalf("mount %s: %v\n%s", dir, err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v\n%s", dir, err, out)
				exec.Command("umount", "-l", dir).Run()
			}
		})
	}
	dev := func(path string) uint64 {
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		return st.Dev
	}
	mount(p("a"), "-t", "tmpfs", "tmpfs")
	mount(p("b"), "-t", "tmpfs", "tmpfs")
	for _, d := range []string{"a/l", "a/u", "a/w", "b/u", "b/w"} {
		if err := os.MkdirAll(p(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mount(p("inner"), "-t", "overlay", "overlay", "-o", "lowerdir="+p("a/l")+",upperdir="+p("a/u")+",workdir="+p("a/w"))
	if err := os.Mkdir(p("inner/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	mount(p("outer"), "-t", "overlay", "overlay", "-o", "lowerdir="+p("inner/sub")+",upperdir="+p("b/u")+",workdir="+p("b/w"))

	stack := stackedDevs()
	innerDev, outerDev := mountDevOf(t, p("inner")), mountDevOf(t, p("outer"))
	got := stack(outerDev)
	want := []uint64{dev(p("inner/sub")), dev(p("a")), dev(p("b"))}
	slices.Sort(want)
	want = slices.Compact(want)
	slices.Sort(got.Layers)
	if !got.Stacked || !got.Known || !slices.Equal(got.Layers, want) {
		t.Errorf("the outer overlay: %+v, want layers %v", got, want)
	}
	if got := stack(innerDev); !got.Known || !slices.Contains(got.Layers, dev(p("a"))) {
		t.Errorf("the inner overlay: %+v", got)
	}
}

// mountDevOf is the device mountinfo lists for the mount at dir, which
// sock_diag reports for files bound there.
func mountDevOf(t *testing.T, dir string) uint64 {
	t.Helper()
	var sx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, dir, 0, unix.STATX_MNT_ID, &sx); err != nil {
		t.Fatal(err)
	}
	d, ok := mountDev(sx.Mnt_id, "", true)
	if !ok {
		t.Fatalf("no mount %d for %s", sx.Mnt_id, dir)
	}
	return d
}
