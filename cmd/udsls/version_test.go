package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVersion builds the binary the three ways people get it: a release stamp wins, a build
// from a checkout names its commit, and a build without VCS information still says devel and
// which Go built it.
func TestVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the binary three times")
	}
	rev, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD (the test runs in a checkout): %v", err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"stamped", []string{"-ldflags", "-X main.stamped=v1.2.3"}, `^udsls v1\.2\.3\n$`},
		{"checkout", []string{"-buildvcs=true"}, `^udsls v\S*-` + regexp.QuoteMeta(string(rev[:12])) + `\S* \(go[0-9.]+\)\n$`},
		{"no vcs", []string{"-buildvcs=false"}, `^udsls devel \(go[0-9.]+\)\n$`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "udsls")
			cmd := exec.Command("go", append(append([]string{"build", "-o", bin}, c.args...), ".")...)
			cmd.Env = append(os.Environ(), "GOFLAGS=")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build %s: %v\n%s", strings.Join(c.args, " "), err, out)
			}
			out, err := exec.Command(bin, "--version").Output()
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(c.want).Match(out) {
				t.Errorf("udsls --version = %q; want %s", out, c.want)
			}
		})
	}
}
