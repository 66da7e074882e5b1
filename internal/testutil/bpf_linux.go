package testutil

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/udsls/udsls/platform/testenv"
)

// NeedBPF skips (or fails, under UDSLS_REQUIRE_BPF=1) unless open, which
// loads what, works here; what it opened is closed again.
func NeedBPF[T io.Closer](t testing.TB, what string, open func() (T, error)) {
	t.Helper()
	testenv.NeedRoot(t, "loading "+what+" needs CAP_BPF and CAP_PERFMON")
	c, err := open()
	if err != nil {
		testenv.Skipf(t, testenv.BPF, "%s does not load: %v", what, err)
	}
	c.Close()
}

// LoadedBPF lists, as "prog <id>" and "link <id>", the loaded BPF programs
// whose names match accepts and the links attached to them (bpftool).
// Links count: a program outlives its last descriptor while a link holds it.
func LoadedBPF(t testing.TB, match func(name string) bool) []string {
	t.Helper()
	bpftool := testenv.NeedTool(t, "bpftool", "bpftool")
	var progs []struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	var links []struct {
		ID     int `json:"id"`
		ProgID int `json:"prog_id"`
	}
	for _, q := range []struct {
		what string
		v    any
	}{{"prog", &progs}, {"link", &links}} {
		out, err := bpftoolList(bpftool, q.what)
		if err != nil {
			t.Fatalf("bpftool %s list: %v", q.what, err)
		}
		if err := json.Unmarshal(out, q.v); err != nil {
			t.Fatalf("bpftool %s list: %v: %q", q.what, err, out)
		}
	}
	var ids []string
	var ours []int
	for _, p := range progs {
		if match(p.Name) {
			ours = append(ours, p.ID)
			ids = append(ids, "prog "+strconv.Itoa(p.ID))
		}
	}
	for _, l := range links {
		if slices.Contains(ours, l.ProgID) {
			ids = append(ids, "link "+strconv.Itoa(l.ID))
		}
	}
	return ids
}

// bpftoolList runs `bpftool -j what list`. bpftool walks the kernel's
// ids and then opens and reads each object, and exits 255 when one goes
// away between the two: other test binaries load and close programs all
// the time. Such a run is made again, a few times; a bpftool that cannot
// list at all fails each time.
func bpftoolList(bpftool, what string) ([]byte, error) {
	var err error
	for range 5 {
		var stderr strings.Builder
		cmd := exec.Command(bpftool, "-j", what, "list")
		cmd.Stderr = &stderr
		var out []byte
		if out, err = cmd.Output(); err == nil {
			return out, nil
		}
		// -j puts bpftool's own errors on stdout.
		err = fmt.Errorf("%w: %s%s", err, out, strings.TrimSpace(stderr.String()))
	}
	return nil, err
}

// NewBPF lists what LoadedBPF(t, match) lists now and did not in before.
func NewBPF(t testing.TB, match func(name string) bool, before []string) []string {
	t.Helper()
	return slices.DeleteFunc(LoadedBPF(t, match), func(id string) bool { return slices.Contains(before, id) })
}

// Programs keeps the programs of ids, as LoadedBPF names them.
func Programs(ids []string) []string {
	return slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !strings.HasPrefix(id, "prog ") })
}

// Ours matches the names udsls gives all its BPF programs.
func Ours(name string) bool { return strings.HasPrefix(name, "udsls_") }

// HeldBPF lists, as LoadedBPF names them, the programs and links process
// pid holds a descriptor of, a link's program with it (a program attached
// by a link may have no descriptor of its own left). Other test binaries
// load the same programs at the same time (go test runs packages in
// parallel): counting what the kernel lists since some moment counts
// theirs too, what pid holds does not.
func HeldBPF(t testing.TB, pid int) []string {
	t.Helper()
	held, err := heldBPF(strconv.Itoa(pid))
	if err != nil {
		t.Fatalf("the BPF objects pid %d holds: %v", pid, err)
	}
	return held
}

// HeldBy keeps those of ids, as LoadedBPF names them, that one of pids
// holds.
func HeldBy(t testing.TB, ids []string, pids ...int) []string {
	t.Helper()
	var held []string
	for _, pid := range pids {
		held = append(held, HeldBPF(t, pid)...)
	}
	return slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !slices.Contains(held, id) })
}

// heldBPF reads /proc/<pid>/fd and fdinfo. A descriptor closed, or a
// process gone, while it reads is skipped.
func heldBPF(pid string) ([]string, error) {
	dir := "/proc/" + pid + "/fd"
	fds, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var held []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if err != nil || (target != "anon_inode:bpf-prog" && target != "anon_inode:bpf_link") {
			continue
		}
		info, err := os.ReadFile("/proc/" + pid + "/fdinfo/" + fd.Name())
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(info), "\n") {
			key, val, _ := strings.Cut(line, ":")
			val = strings.TrimSpace(val)
			switch key {
			case "prog_id":
				held = append(held, "prog "+val)
			case "link_id":
				held = append(held, "link "+val)
			}
		}
	}
	slices.Sort(held)
	return slices.Compact(held), nil
}

// heldElsewhere is what processes other than this one hold of ids. A
// process whose descriptors cannot be read (pid 1 may not be, even for
// root) holds nothing as far as this knows.
func heldElsewhere(ids []string) map[string]bool {
	procs, _ := os.ReadDir("/proc")
	self := strconv.Itoa(os.Getpid())
	held := map[string]bool{}
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil || p.Name() == self {
			continue
		}
		h, _ := heldBPF(p.Name())
		for _, id := range h {
			if slices.Contains(ids, id) {
				held[id] = true
			}
		}
	}
	return held
}

// NoBPFLeft fails unless every program and link LoadedBPF(t, match) lists
// now and did not in before goes away. The kernel frees a program a moment
// after its last descriptor closes, and another test binary may load its
// own meanwhile and hold them for as long as its test runs: those a live
// process other than this one holds are not left behind. A leak stays
// loaded with no one holding it, or held by this process.
func NoBPFLeft(t testing.TB, match func(name string) bool, before []string) {
	t.Helper()
	left := NewBPF(t, match, before)
	for range 100 {
		others := heldElsewhere(left)
		left = slices.DeleteFunc(left, func(id string) bool { return others[id] })
		if len(left) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
		now := LoadedBPF(t, match)
		left = slices.DeleteFunc(left, func(id string) bool { return !slices.Contains(now, id) })
	}
	t.Errorf("left loaded in the kernel: %v", left)
}
