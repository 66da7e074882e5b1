package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/testenv"
)

// TestFlagValues: what completion offers for a value is what udsls
// accepts and what --help names, and nothing else is accepted.
func TestFlagValues(t *testing.T) {
	// accepts reports whether udsls takes v as the value of the flag.
	accepts := map[string]func(v string) bool{
		"type":        func(v string) bool { _, err := inspect.ParseType(v); return err == nil },
		"expect-type": func(v string) bool { _, err := inspect.ParseType(v); return err == nil },
		"fail-on":     func(v string) bool { _, err := inspect.ParseSeverity(v); return err == nil },
	}
	for _, name := range []string{"output", "color", "source", "fd-source", "completion"} {
		accepts[name] = func(v string) bool { _, err := parseFlags([]string{"--" + name + "=" + v}); return err == nil }
	}
	word := regexp.MustCompile(`^[a-z]+:?$`)
	for _, f := range flagTable {
		if len(f.values) == 0 {
			continue
		}
		for _, v := range f.values {
			if !word.MatchString(v) {
				t.Errorf("--%s value %q: the scripts quote none, so it must be a plain word", f.name, v)
			}
			if !strings.Contains(f.help, v) {
				t.Errorf("--%s offers %q, which its help %q does not name", f.name, v, f.help)
			}
		}
		if f.prefixValues() {
			continue
		}
		ok, found := accepts[f.name]
		if !found {
			t.Errorf("--%s has values but no check here that udsls accepts them", f.name)
			continue
		}
		for _, v := range f.values {
			if !ok(v) {
				t.Errorf("--%s offers %q, which udsls refuses", f.name, v)
			}
		}
		if ok("bogus") {
			t.Errorf("--%s accepts bogus: the check cannot fail", f.name)
		}
	}
}

// completionDir holds a file, a directory and a file in it, for path completion.
func completionDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"file.txt", "sub/inner"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCompletionBash sources the script in a bash without bash-completion
// and calls its function as bash would, with COMP_WORDS split at the
// characters of COMP_WORDBREAKS ("=" and ":").
func TestCompletionBash(t *testing.T) {
	bash := testenv.NeedTool(t, "bash", "bash")
	script := filepath.Join(t.TempDir(), "udsls.bash")
	if err := os.WriteFile(script, []byte(completionScript("bash")), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := completionDir(t)
	var allLong []string
	for _, f := range flagTable {
		allLong = append(allLong, "--"+f.name)
	}
	tests := []struct {
		name  string
		words []string // the last is the word under the cursor
		want  []string
	}{
		{"long flag", []string{"--st"}, []string{"--stale"}},
		{"every long flag", []string{"--"}, allLong},
		{"short flag", []string{"-o"}, []string{"-o"}},
		{"output", []string{"-o", ""}, []string{"table", "json", "prometheus"}},
		{"output long", []string{"--output", "j"}, []string{"json"}},
		{"output after =", []string{"--output", "=", "p"}, []string{"prometheus"}},
		{"output at =", []string{"--output", "="}, []string{"table", "json", "prometheus"}},
		{"type", []string{"-a", "-t", "s"}, []string{"stream", "seqpacket"}},
		{"color", []string{"--color", ""}, []string{"auto", "always", "never"}},
		{"source", []string{"--source", ""}, []string{"netlink", "procfs"}},
		{"fd-source", []string{"--fd-source", ""}, []string{"auto", "bpf", "procfs"}},
		{"fail-on", []string{"--audit", "--fail-on", "m"}, []string{"medium"}},
		{"completion", []string{"--completion", ""}, []string{"bash", "zsh", "fish"}},
		{"from kinds", []string{"--from", ""}, []string{"lsof:", "netstat:", "procnet:"}},
		{"from file", []string{"--from", "lsof", ":", dir + "/f"}, []string{dir + "/file.txt"}},
		{"from at colon", []string{"--from", "=", "procnet", ":"}, []string{"file.txt", "sub"}}, // in dir
		{"output-file", []string{"-o", "prometheus", "--output-file", dir + "/"}, []string{dir + "/file.txt", dir + "/sub"}},
		{"proc-root", []string{"--proc-root", dir + "/"}, []string{dir + "/sub"}},
		{"pid", []string{"-p", ""}, nil},
		{"stale dirs", []string{"--stale", dir + "/"}, []string{dir + "/sub"}},
		{"serve dir", []string{"--serve", "--for", "1s", dir + "/"}, []string{dir + "/sub"}},
		{"check paths", []string{"--check", dir + "/"}, []string{dir + "/file.txt", dir + "/sub"}},
		{"pattern", []string{dir + "/su"}, []string{dir + "/sub"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			words := append([]string{"udsls"}, tt.words...)
			var quoted []string
			for _, w := range words {
				quoted = append(quoted, shellQuote(w))
			}
			driver := `source "$1" || exit 1
COMP_WORDS=(` + strings.Join(quoted, " ") + `)
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_udsls udsls "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
`
			cmd := exec.Command(bash, "--norc", "--noprofile", "-c", driver, "bash", script)
			cmd.Dir = dir
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, stderrOf(err))
			}
			got := strings.Fields(string(out))
			if len(got) == 0 {
				got = nil
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("completing %q (-want +got):\n%s", words, diff)
			}
		})
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestCompletionBashRegisters: sourcing the script tells bash to complete
// udsls with it.
func TestCompletionBashRegisters(t *testing.T) {
	bash := testenv.NeedTool(t, "bash", "bash")
	out, err := exec.Command(bash, "--norc", "--noprofile", "-c", completionScript("bash")+"\ncomplete -p udsls").Output()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, stderrOf(err))
	}
	if got, want := strings.TrimSpace(string(out)), "complete -F _udsls udsls"; got != want {
		t.Errorf("complete -p udsls = %q, want %q", got, want)
	}
}

// TestCompletionZsh: the script parses, and loaded into zsh's completion
// system it binds _udsls to udsls.
func TestCompletionZsh(t *testing.T) {
	zsh := testenv.NeedTool(t, "zsh", "zsh")
	dir := t.TempDir()
	script := filepath.Join(dir, "_udsls")
	if err := os.WriteFile(script, []byte(completionScript("zsh")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	// As installed: in a directory of $fpath, found by compinit.
	cmd := exec.Command(zsh, "-f", "-c", `fpath=("$1" $fpath); autoload -U compinit; compinit -u -D; print -r -- $_comps[udsls]; autoload +X _udsls; whence -w _udsls`, "zsh", dir)
	cmd.Env = append(os.Environ(), "HOME="+dir, "ZDOTDIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("zsh: %v\n%s", err, out)
	}
	if got, want := string(out), "_udsls\n_udsls: function\n"; got != want {
		t.Errorf("zsh compinit with the script: got %q, want %q", got, want)
	}
}

// TestCompletionFish asks a real fish what it completes, with the script
// loaded as fish loads one from its completions directory.
func TestCompletionFish(t *testing.T) {
	fish := testenv.NeedTool(t, "fish", "fish")
	dir := completionDir(t)
	script := filepath.Join(t.TempDir(), "udsls.fish")
	if err := os.WriteFile(script, []byte(completionScript("fish")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(fish, "--no-execute", script).CombinedOutput(); err != nil {
		t.Fatalf("fish -n: %v\n%s", err, out)
	}
	tests := []struct {
		line string
		want []string
	}{
		{"udsls --st", []string{"--stale"}},
		{"udsls -o ", []string{"table", "json", "prometheus"}},
		{"udsls --color=", []string{"--color=auto", "--color=always", "--color=never"}},
		{"udsls -t s", []string{"stream", "seqpacket"}},
		{"udsls --from ", []string{"lsof:", "netstat:", "procnet:"}},
		{"udsls --from lsof:" + dir + "/f", []string{"lsof:" + dir + "/file.txt"}},
		{"udsls --stale " + dir + "/", []string{dir + "/sub/"}},
		{"udsls --completion ", []string{"bash", "zsh", "fish"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			home := t.TempDir()
			cmd := exec.Command(fish, "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, script, tt.line)
			cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_DATA_HOME="+home)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("fish: %v\n%s", err, stderrOf(err))
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				c, _, _ := strings.Cut(l, "\t")
				got = append(got, c)
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("fish complete -C %q (-want +got):\n%s", tt.line, diff)
			}
		})
	}
}

// TestCompletionFishOddFiles: the capture file after --from=KIND: is
// completed from a directory holding names that look like options, hold
// quotes or a command substitution. fish 3.6's __fish_complete_path hands
// such names to ls(1) as arguments, which takes "--hide=*" and "-I*" as
// options and completes nothing; nothing may run either.
func TestCompletionFishOddFiles(t *testing.T) {
	fish := testenv.NeedTool(t, "fish", "fish")
	dir := t.TempDir()
	names := []string{"--hide=*", "-Iplain", "plain", "q'uote", "$(touch pwned)", "a b"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "udsls.fish")
	if err := os.WriteFile(script, []byte(completionScript("fish")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"udsls --from=lsof:", "udsls --from lsof:"} {
		t.Run(line, func(t *testing.T) {
			home := t.TempDir()
			cmd := exec.Command(fish, "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, script, line)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_DATA_HOME="+home)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("fish: %v\n%s", err, stderr.String())
			}
			prefix := "lsof:"
			if strings.Contains(line, "=") {
				prefix = "--from=lsof:"
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				c, _, _ := strings.Cut(l, "\t")
				got = append(got, c)
			}
			var want []string
			for _, n := range append(names, "sub/") {
				want = append(want, prefix+n)
			}
			slices.Sort(got)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" || stderr.Len() != 0 {
				t.Errorf("fish complete -C %q (-want +got):\n%s\nstderr: %s", line, diff, stderr.String())
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Error("completing ran a command substitution from a file name")
	}
}
