package inspect

import (
	"context"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udsls/udsls/platform/testenv"
)

// TestAuditProcSelf: a server that binds through /proc/self (how a path
// longer than sun_path is bound) names its own descriptors and directory.
// Read through udsls's /proc/self the file looked gone, a false file-gone,
// and a 0666 socket of root in a 0777 directory went unreported. A name
// bound relative to the holder's working directory was skipped.
func TestAuditProcSelf(t *testing.T) {
	requireAuditTools(t)
	b := auditBase(t)
	dir := filepath.Join(b, "open")
	mkdir(t, dir, 0o777, 0, 0)
	mkdir(t, filepath.Join(dir, "sub"), 0o755, 0, 0)

	// The holder: a child with the directory at fd 3 and as its working
	// directory. This process holds neither, so its own /proc/self leads
	// elsewhere.
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command("sleep", "600")
	child.Dir = filepath.Join(dir, "sub")
	child.ExtraFiles = []*os.File{d}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	d.Close()
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })

	var l liveSockets
	bound := map[string]string{
		"/proc/self/fd/3/fd.sock":         filepath.Join(dir, "fd.sock"),
		"/proc/self/cwd/../cwd.sock":      filepath.Join(dir, "cwd.sock"),
		"/proc/thread-self/cwd/../t.sock": filepath.Join(dir, "t.sock"),
		// Bound by a relative name in the holder's working directory.
		"rel.sock": filepath.Join(dir, "sub", "rel.sock"),
	}
	for name, real := range bound {
		ln, err := net.Listen("unix", real)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		if err := os.Chmod(real, 0o666); err != nil {
			t.Fatal(err)
		}
		id := l.add(t, real, child.Process.Pid)
		l.snap.Sockets[id-1].Path = name
	}
	if fi, err := os.Stat("/proc/self/fd/3"); err == nil && os.SameFile(fi, mustStat(t, dir)) {
		testenv.Skipf(t, testenv.Root, "this process has the directory at fd 3 too")
	}

	r := LiveResolver("/proc")
	es := r.Entries(context.Background(), l.snapshot(t), Query{})
	for _, e := range es {
		if e.FileStatus != FileOK || e.File == nil || e.FilePath != bound[e.Path] {
			t.Errorf("%s: file status %v, file path %q, want ok at %s", e.Path, e.FileStatus, e.FilePath, bound[e.Path])
		}
	}

	rep, err := LiveAuditor("/proc").Audit(context.Background(), l.snapshot(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range rep.Findings {
		if _, ok := bound[f.Path]; !ok {
			continue
		}
		got[f.Path+" "+f.Rule] = true
		if f.Rule == RuleWorldReachable && !strings.Contains(f.Detail, bound[f.Path]) {
			t.Errorf("%s: detail %q does not name the file %s", f.Path, f.Detail, bound[f.Path])
		}
	}
	for name := range bound {
		for _, rule := range []string{RuleWorldReachable, RuleHijackable} {
			if !got[name+" "+rule] {
				t.Errorf("no %s finding for %s; findings %v", rule, name, got)
			}
		}
		if got[name+" "+RuleFileGone] {
			t.Errorf("%s: file-gone, but the file is there", name)
		}
	}
}

func mustStat(t *testing.T, p string) fs.FileInfo {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}
