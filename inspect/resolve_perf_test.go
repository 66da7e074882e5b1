package inspect

import (
	"strings"
	"testing"
)

// comparePathsSlow is ComparePaths without the common-prefix skip: the
// definition the fast one must agree with.
func comparePathsSlow(a, b string) int {
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			da, db := digitRun(a), digitRun(b)
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			if da != db {
				return da - db
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func sign(n int) int { return min(max(n, -1), 1) }

func FuzzComparePaths(f *testing.F) {
	for _, p := range [][2]string{
		{"/run/set-9.sock", "/run/set-10.sock"},
		{"/run/set-12a", "/run/set-123"},
		{"a12b", "a12c"},
		{"a012", "a12"},
		{"a0012x", "a012y"},
		{"x99", "x099"},
		{"9", "10"},
		{"", "0"},
		{"same", "same"},
		{"/tmp/s-1/a", "/tmp/s-1/b"},
		{"@abs1", "@abs01"},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := sign(ComparePaths(a, b)), sign(comparePathsSlow(a, b)); got != want {
			t.Errorf("ComparePaths(%q, %q) = %d, want %d", a, b, got, want)
		}
	})
}
