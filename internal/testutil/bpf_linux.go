package testutil

import (
	"encoding/json"
	"io"
	"os/exec"
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
		out, err := exec.Command(bpftool, "-j", q.what, "list").Output()
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

// NoBPFLeft fails unless every program and link LoadedBPF(t, match) lists
// now and did not in before goes away. The kernel frees a program a moment
// after its last descriptor closes, and another test binary may load its
// own meanwhile, but a leak stays.
func NoBPFLeft(t testing.TB, match func(name string) bool, before []string) {
	t.Helper()
	left := NewBPF(t, match, before)
	for range 100 {
		if len(left) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
		now := LoadedBPF(t, match)
		left = slices.DeleteFunc(left, func(id string) bool { return !slices.Contains(now, id) })
	}
	t.Errorf("left loaded in the kernel: %v", left)
}
