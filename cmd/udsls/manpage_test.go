package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/platform/testenv"
)

var (
	// helpFlag is a flag's first line in --help: "  -o, --output FORMAT  table …".
	helpFlag = regexp.MustCompile(`^(?:  -([A-Za-z]), |      )--([a-z][a-z-]*)(?: ([A-Z][A-Z|:]*))?\s+(\S.*)$`)
	// helpMode is a Usage line of a mode: "  udsls --stale [options] [DIR...]   find …",
	// or of one that takes a value: "  udsls --mode ARG [options] …".
	helpMode = regexp.MustCompile(`^  udsls (--[a-z-]+(?: [A-Z][A-Z|:]*)?) \[options\].*?\s{2,}(\S.*)$`)
	// manFonts are the escapes udsls(1) uses, which man renders away.
	unroff = strings.NewReplacer(`\fB`, "", `\fI`, "", `\fR`, "", `\&`, "", `\-`, "-", `\e`, `\`)
)

// helpEntries are the flags --help describes: "-o, --output FORMAT" →
// its description, continuation lines joined; mode flags by their Usage line.
func helpEntries(t *testing.T, help string) map[string]string {
	t.Helper()
	got := map[string]string{}
	var last string
	for _, l := range strings.Split(help, "\n") {
		if m := helpMode.FindStringSubmatch(l); m != nil {
			got[m[1]] = m[2]
			continue
		}
		if m := helpFlag.FindStringSubmatch(l); m != nil {
			last = "--" + m[2]
			if m[1] != "" {
				last = "-" + m[1] + ", " + last
			}
			if m[3] != "" {
				last += " " + m[3]
			}
			got[last] = m[4]
			continue
		}
		// A continuation is indented past the flags; anything else ends one.
		if last != "" && strings.HasPrefix(l, strings.Repeat(" ", 20)) {
			got[last] += " " + strings.TrimSpace(l)
			continue
		}
		last = ""
	}
	return got
}

// manEntries are the .TP items of the man page's OPTIONS section, tag →
// body, with the roff taken out.
func manEntries(t *testing.T, page string) map[string]string {
	t.Helper()
	_, opts, ok := strings.Cut(page, "\n.SH OPTIONS\n")
	if !ok {
		t.Fatalf("no OPTIONS section in\n%s", page)
	}
	opts, _, _ = strings.Cut(opts, "\n.SH ")
	got := map[string]string{}
	for _, item := range strings.Split(opts, ".TP\n")[1:] {
		tag, body, _ := strings.Cut(item, "\n")
		var text []string
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, ".") {
				break
			}
			text = append(text, strings.TrimSpace(unroff.Replace(l)))
		}
		got[unroff.Replace(tag)] = strings.TrimSpace(strings.Join(text, " "))
	}
	return got
}

// TestManMatchesHelp: every flag --help describes is in udsls(1) with the
// same placeholder and description, and udsls(1) describes no other, so
// that the page cannot drift from the flags.
func TestManMatchesHelp(t *testing.T) {
	help := helpEntries(t, usage)
	if len(help) < len(flagTable) {
		t.Fatalf("read %d flags from --help, want %d: %v", len(help), len(flagTable), help)
	}
	man := manEntries(t, manPage("v1.2.3"))
	if diff := cmp.Diff(help, man); diff != "" {
		t.Errorf("udsls(1) OPTIONS differ from --help (-help +man):\n%s", diff)
	}
}

// TestManSections: the page names itself, carries the stamped version, and
// keeps --help's usage lines, exit statuses and examples.
func TestManSections(t *testing.T) {
	page := manPage(`v1.2.3 "x"`)
	text := unroff.Replace(page)
	for _, want := range []string{
		".TH UDSLS 1 \"\" \"udsls v1.2.3 \\(dqx\\(dq\" \"User Commands\"\n",
		"\n.SH NAME\nudsls - show everything about the Unix domain sockets on this machine\n",
		"\n.SH SYNOPSIS\n", "\n.SH DESCRIPTION\n", "\n.SH EXIT STATUS\n", "\n.SH EXAMPLES\n", "\n.SH SEE ALSO\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("udsls(1) lacks %q", want)
		}
	}
	_, tail, _ := strings.Cut(usage, "\nExamples:\n")
	for _, l := range strings.Split(strings.TrimSpace(tail), "\n") {
		cmd, _, _ := strings.Cut(strings.TrimSpace(l), "  ")
		if !strings.Contains(text, "\n"+cmd+"\n") {
			t.Errorf("udsls(1) lacks the example %q", cmd)
		}
	}
	for _, code := range []string{"0", "1", "2", "130/143"} {
		if !strings.Contains(text, ".TP\n"+code+"\n") {
			t.Errorf("udsls(1) EXIT STATUS lacks %s", code)
		}
	}
	for _, l := range strings.Split(page, "\n") {
		if strings.HasPrefix(l, "'") || (strings.HasPrefix(l, ".") && !regexp.MustCompile(`^\.(\\"|TH|SH|SS|TP|PP|nf|fi|nh|ad) ?`).MatchString(l)) {
			t.Errorf("udsls(1) line is a control line it did not mean: %q", l)
		}
	}
}

// TestManRenders: man-db formats udsls(1) with every groff warning on and
// says nothing on stderr. A page with an unknown macro proves that
// warnings would be seen.
func TestManRenders(t *testing.T) {
	man := testenv.NeedTool(t, "man", "man-db")
	render := func(page string) (stdout, stderr string) {
		t.Helper()
		f := filepath.Join(t.TempDir(), "udsls.1")
		if err := os.WriteFile(f, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(man, "--warnings=w", "-l", f)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("man -l: %v\n%s", err, errb.String())
		}
		return out.String(), errb.String()
	}
	if _, stderr := render(".TH X 1\n.SH NAME\n.XX undefined\n"); stderr == "" {
		t.Fatal("man printed no warning for an undefined macro: the check below cannot fail")
	}
	out, stderr := render(manPage("v1.2.3"))
	if stderr != "" {
		t.Errorf("man -l udsls.1 warned:\n%s", stderr)
	}
	for _, want := range []string{"UDSLS(1)", "--stale [options] [DIR...]", "-o, --output FORMAT", "udsls v1.2.3"} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered udsls(1) lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if len([]rune(l)) > 80 {
			t.Errorf("rendered line wider than MANWIDTH=80: %q", l)
		}
	}
}
