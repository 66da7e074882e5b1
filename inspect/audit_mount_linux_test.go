package inspect

import (
	"context"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAuditMountPoint: a mount point cannot be renamed or removed (EBUSY),
// so a directory mounted below a world-writable one is no way to hijack the
// sockets in it. A bind mount shares its device with its parent, so only
// statx's mount-root attribute tells; the kernel's refusal is checked too.
func TestAuditMountPoint(t *testing.T) {
	requireAuditTools(t)
	b := auditBase(t)
	p := func(name string) string { return filepath.Join(b, name) }
	mkdir(t, p("open"), 0o777, 0, 0)
	mkdir(t, p("open/tmpfs"), 0o755, 0, 0)
	mkdir(t, p("open/bind"), 0o755, 0, 0)
	mkdir(t, p("src"), 0o755, 0, 0)
	mkdir(t, p("open/plain"), 0o755, 0, 0)
	if err := unix.Mount("udsls-test", p("open/tmpfs"), "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(p("open/tmpfs"), unix.MNT_DETACH) })
	if err := unix.Mount(p("src"), p("open/bind"), "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(p("open/bind"), unix.MNT_DETACH) })
	if err := unix.Rename(p("open/bind"), p("open/moved")); err != unix.EBUSY {
		t.Fatalf("rename of a bind mount point: %v, want EBUSY", err)
	}

	var l liveSockets
	for _, s := range []string{"open/tmpfs/t.sock", "open/bind/b.sock", "open/plain/p.sock"} {
		l.rootListen(t, p(s), 0o600)
	}
	rep, err := LiveAuditor("/proc").Audit(context.Background(), l.snapshot(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range rep.Findings {
		got[f.Path] = f.Rule
	}
	// The plain directory can be renamed away: that one is a finding.
	want := map[string]string{p("open/plain/p.sock"): RuleHijackable}
	if len(got) != len(want) || got[p("open/plain/p.sock")] != RuleHijackable {
		t.Errorf("findings %v, want only %v", got, want)
	}
}
