// Package testenv decides what a test does when the machine lacks something it needs: it skips
// with the reason on a developer's machine, and fails where CI has promised the capability by
// setting UDSLS_REQUIRE_<KIND>=1 (ROOT, BPF, DOCKER, TOOLS), so nothing is skipped silently there.
// Heavy tests run only under UDSLS_HEAVY=1, which CI sets, so a newcomer's `go test` stays quick.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Kinds of capability a test may need; each is switched on in CI by UDSLS_REQUIRE_<kind>=1.
const (
	Root   = "ROOT"   // euid 0: namespaces, mounts, other users
	BPF    = "BPF"    // loading BPF programs
	Docker = "DOCKER" // a dockerd the test can start
	Tools  = "TOOLS"  // commands from Debian packages that .ci/run installs
)

// Required reports whether CI demands the capability kind.
func Required(kind string) bool { return os.Getenv("UDSLS_REQUIRE_"+kind) == "1" }

// Skipf skips the test with the reason, or fails it when kind is required.
func Skipf(t testing.TB, kind, format string, args ...any) {
	t.Helper()
	reason := fmt.Sprintf(format, args...)
	if Required(kind) {
		t.Fatalf("UDSLS_REQUIRE_%s=1 but: %s", kind, reason)
	}
	t.Skip(reason)
}

// NeedRoot skips (or fails, under UDSLS_REQUIRE_ROOT=1) unless the test runs as root.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skipf(t, Root, "needs root: %s", why)
	}
}

// NeedTool returns the path of a command, skipping (or failing, under UDSLS_REQUIRE_TOOLS=1)
// when it is not installed; pkg names the Debian package that provides it.
func NeedTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skipf(t, Tools, "%s is not installed (Debian package %s)", name, pkg)
	}
	return p
}

// HeavyEnv is the variable that lets heavy tests run; .ci/run sets it to 1.
const HeavyEnv = "UDSLS_HEAVY"

// Heavy skips a test that costs minutes rather than seconds (thousands of sockets, signal storms,
// loop-image mounts) unless UDSLS_HEAVY=1. CI sets it and runs the test in full; a newcomer's
// `go test ./...` then stays quick. why says what makes the test heavy.
func Heavy(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(HeavyEnv) != "1" {
		t.Skipf("heavy (%s): set %s=1 to run it, as CI does", why, HeavyEnv)
	}
}
