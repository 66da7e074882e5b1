//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform/testenv"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

// hostileNames are socket names an attacker may choose to forge rows,
// move the cursor, retitle or hyperlink the terminal, reorder or hide text,
// or break decoders. None holds a slash, so each is one file name.
func hostileNames() []string {
	var names []string
	for c := 1; c < 0x20; c++ {
		names = append(names, fmt.Sprintf("ctl%02x-%c-end", c, c))
	}
	names = append(names, "ctl7f-\x7f-end",
		"esc-colour-\x1b[31mred\x1b[0m",
		"esc-clear-\x1b[2J\x1b[H",
		"esc-cursor-\x1b[1A\x1b[2K\x1b[20D",
		"esc-osc8-\x1b]8;;https:evil.example\x1b\\click\x1b]8;;\x1b\\",
		"esc-title-\x1b]0;pwned\x07",
		"esc-title-st-\x1b]2;pwned\x1b\\",
		"c1-csi-\u009b31m",
		"raw-csi-\x9b31m",
		"nel-\u0085-end",
		"line-sep-\u2028-end",
		"para-sep-\u2029-end",
		"soft-hyphen-\u00ad-end",
		"backslash-\\x1b[31m-is-text",
		// Drawn as nothing or as a space (default-ignorable, blank).
		"cgj-\u034f-end",
		"vs16-\ufe0f-end",
		"vs17-\U000e0100-end",
		"tag-\U000e0041-end",
		"hangul-filler-\u3164-end",
		"halfwidth-filler-\uffa0-end",
		"nbsp-\u00a0-end",
		"braille-blank-\u2800-end",
		"private-use-\ue000-end",
		"escape-lookalike-\ue0001b-end",
		"row\n@docker.sock  stream  listening  0  9  1\\dockerd",
	)
	for _, r := range []rune{0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c} {
		names = append(names, fmt.Sprintf("bidi-%04x-\u2066%cgpj.exe", r, r))
	}
	for _, r := range []rune{0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, 0x180e} {
		names = append(names, fmt.Sprintf("zero-width-%04x-ad%cmin", r, r))
	}
	names = append(names,
		"utf8-ff-\xff\xfe",
		"utf8-bad-continuation-\xc3\x28",
		"utf8-overlong-slash-\xc0\xaf",
		"utf8-surrogate-\xed\xa0\x80",
		"utf8-too-big-\xf4\x90\x80\x80",
		"utf8-truncated-\xe2\x82",
	)
	return names
}

// maxName pads prefix with hostile bytes to make dir/name exactly the
// longest path bind(2) takes: 107 bytes and the NUL.
func maxName(t *testing.T, dir, prefix string) string {
	t.Helper()
	n := 107 - len(dir) - 1 - len(prefix)
	if n < 8 {
		t.Fatalf("temporary directory %q too long for a 107-byte socket path", dir)
	}
	pad := strings.Repeat("\x1b[7m\xff", n/5) + strings.Repeat("x", n%5)
	return prefix + pad
}

// hostileSocket binds a stream listener this process holds until the test
// ends, or, when stale, closes it at once and leaves its file.
func hostileSocket(t *testing.T, path string, stale bool) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := bindRaw(fd, path); err != nil {
		unix.Close(fd)
		t.Fatalf("bind %q: %v", path, err)
	}
	if stale {
		unix.Close(fd)
		return
	}
	if err := unix.Listen(fd, 8); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
}

// bindRaw binds fd to name ("@" for the abstract namespace) with bind(2)
// itself: x/sys/unix refuses an abstract name of 107 bytes, the longest
// the kernel takes.
func bindRaw(fd int, name string) error {
	var sa unix.RawSockaddrUnix
	if len(name) == 0 || len(name) > len(sa.Path) || (len(name) == len(sa.Path) && name[0] != '@') {
		return unix.EINVAL
	}
	sa.Family = unix.AF_UNIX
	for i := range len(name) {
		sa.Path[i] = int8(name[i])
	}
	size := 2 + len(name) + 1 // family, name, NUL
	if name[0] == '@' {
		sa.Path[0] = 0
		size-- // an abstract name is exactly its bytes
	}
	_, _, errno := unix.Syscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(size))
	if errno != 0 {
		return errno
	}
	return nil
}

// exactPath is the name a JSON object gives, with path_bytes when present.
func exactPath(path string, pathBytes []byte) string {
	if pathBytes != nil {
		return string(pathBytes)
	}
	return path
}

// requireSafeText fails if out could drive a terminal or hide text: a
// control byte other than the newline ending a line, invalid UTF-8, or a
// code point that is invisible or reorders text.
func requireSafeText(t *testing.T, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s is not valid UTF-8:\n%q", what, out)
	}
	for i, r := range out {
		// Printable, the newline ending a line, and not one of the
		// printable code points that renderers draw as nothing or blank.
		if r != '\n' && (!unicode.IsPrint(r) || r == 0x2800 || unicode.In(r, unicode.Co,
			unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)) {
			t.Errorf("%s holds %U at byte %d:\n%q", what, r, i, out)
			return
		}
	}
}

// requireRows checks a table: a header, then one line per name, each
// starting with the escaped name, in any order.
func requireRows(t *testing.T, what, out string, names []string, prefix string) {
	t.Helper()
	requireSafeText(t, what, out)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(names)+1 {
		t.Errorf("%s: %d lines, want a header and %d rows:\n%s", what, len(lines), len(names), out)
		return
	}
	for _, n := range names {
		want := prefix + render.Escape(n) + " "
		if !slices.ContainsFunc(lines[1:], func(l string) bool { return strings.HasPrefix(l+" ", want) }) {
			t.Errorf("%s: no row starts with %q", what, want)
		}
	}
}

func TestHostileNames(t *testing.T) {
	names := hostileNames()
	root := t.TempDir()
	live := filepath.Join(root, "live")
	stale := filepath.Join(root, "stale")
	mkdirs(t, root, "live", "stale")

	var fsPaths, absPaths []string
	for _, n := range append(names, maxName(t, live, "max-")) {
		fsPaths = append(fsPaths, filepath.Join(live, n))
	}
	abs := "@udsls-hostile-" + strconv.Itoa(os.Getpid()) + "-"
	for _, n := range names {
		absPaths = append(absPaths, abs+n)
	}
	absPaths = append(absPaths,
		abs+"nul\x00inside\x00-end",
		abs+"trailing-nuls\x00\x00",
		// The longest names the kernel takes: 107 bytes after the NUL.
		abs+"max-"+strings.Repeat("\x1b[5m", (108-len(abs)-4)/4)+strings.Repeat("z", (108-len(abs)-4)%4),
		abs+"max-nul-"+strings.Repeat("\x00\x1b[5m", (108-len(abs)-8)/5)+strings.Repeat("z", (108-len(abs)-8)%5),
	)
	for _, p := range absPaths[len(absPaths)-2:] {
		if len(p) != 108 {
			t.Fatalf("longest abstract name %q is %d bytes with its @, want 108", p, len(p))
		}
	}
	for _, p := range append(slices.Clone(fsPaths), absPaths...) {
		hostileSocket(t, p, false)
	}
	t.Logf("%d hostile names: %d filesystem, %d abstract; the same %d as stale files",
		len(fsPaths)+len(absPaths), len(fsPaths), len(absPaths), len(fsPaths))

	patterns := []string{filepath.Join(live, "*"), abs + "*"}
	all := append(slices.Clone(fsPaths), absPaths...)
	for _, source := range []string{"netlink", "procfs"} {
		t.Run("list/"+source, func(t *testing.T) {
			want := all
			if source == "procfs" {
				// /proc/net/unix shows every NUL of an abstract name as
				// "@" (unix_seq_show, net/unix/af_unix.c).
				want = nil
				for _, p := range all {
					if strings.HasPrefix(p, "@") {
						p = "@" + strings.ReplaceAll(p[1:], "\x00", "@")
					}
					want = append(want, p)
				}
			}
			args := append([]string{"-a", "--source", source}, patterns...)
			code, out, errOut := runUdsls(append(args, "-o", "json")...)
			if code != exitOK {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			requireSafeText(t, "stderr", errOut)
			if !json.Valid([]byte(out)) || !utf8.ValidString(out) {
				t.Fatalf("invalid JSON:\n%q", out)
			}
			var doc render.ListingJSON
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range doc.Sockets {
				p := exactPath(s.Path, s.PathBytes)
				got = append(got, p)
				if (s.PathBytes != nil) == utf8.ValidString(p) {
					t.Errorf("%q: path_bytes given %v, want it exactly when the name is not UTF-8", p, s.PathBytes != nil)
				}
				if s.Abstract != strings.HasPrefix(p, "@") {
					t.Errorf("%q: abstract %v", p, s.Abstract)
				}
				if !slices.ContainsFunc(s.Processes, func(p render.ProcessJSON) bool { return p.PID == os.Getpid() }) {
					t.Errorf("%q: holders %+v lack this process", p, s.Processes)
				}
			}
			slices.Sort(got)
			if diff := cmp.Diff(sorted(want), got); diff != "" {
				t.Errorf("names in JSON (-want +got):\n%s", diff)
			}

			code, out, errOut = runUdsls(args...)
			if code != exitOK {
				t.Fatalf("table: exit %d, stderr %q", code, errOut)
			}
			requireRows(t, "table", out, want, "")

			code, out, errOut = runUdsls(append(args, "-o", "prometheus")...)
			if code != exitOK {
				t.Fatalf("prometheus: exit %d, stderr %q", code, errOut)
			}
			requireSafeText(t, "prometheus output", out)
			listeners := 0
			for k := range parseProm(t, out) {
				if strings.HasPrefix(k, "udsls_listener_connections{") {
					listeners++
				}
			}
			if listeners != len(sorted(want)) {
				t.Errorf("%d udsls_listener_connections series, want one per name, %d", listeners, len(want))
			}
		})
	}

	t.Run("check", func(t *testing.T) {
		// An abstract name with a NUL cannot be an argument.
		paths := slices.DeleteFunc(slices.Clone(all), func(p string) bool { return strings.Contains(p, "\x00") })
		code, out, errOut := runUdsls(append([]string{"--check", "-o", "json"}, paths...)...)
		if code != exitOK {
			t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
		}
		if !json.Valid([]byte(out)) {
			t.Fatalf("invalid JSON:\n%q", out)
		}
		var doc render.ChecksJSON
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range doc.Checks {
			got = append(got, exactPath(c.Path, c.PathBytes))
			if c.Verdict != inspect.VerdictUp {
				t.Errorf("%q: %s (%s), want up", exactPath(c.Path, c.PathBytes), c.Verdict, c.Reason)
			}
			requireSafeText(t, "reason", c.Reason)
		}
		if diff := cmp.Diff(paths, got); diff != "" {
			t.Errorf("checked paths in JSON, in the order given (-want +got):\n%s", diff)
		}

		code, out, errOut = runUdsls(append([]string{"--check"}, paths...)...)
		if code != exitOK {
			t.Fatalf("text: exit %d, stderr %q", code, errOut)
		}
		requireSafeText(t, "--check text", out)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != len(paths) {
			t.Fatalf("%d lines for %d paths:\n%s", len(lines), len(paths), out)
		}
		for i, p := range paths {
			if want := render.Escape(p) + ": up: "; !strings.HasPrefix(lines[i], want) {
				t.Errorf("line %d is %q, want it to start with %q", i+1, lines[i], want)
			}
		}
	})

	t.Run("stale", func(t *testing.T) {
		for _, source := range []string{"netlink", "procfs"} {
			var files []string
			for _, n := range append(names, maxName(t, stale, "max-")) {
				files = append(files, filepath.Join(stale, n))
				hostileSocket(t, files[len(files)-1], true)
			}
			src := []string{"--source", source}
			code, out, errOut := runUdsls(append([]string{"--stale", live, "-o", "json"}, src...)...)
			if doc := decodeStale(t, []byte(out)); code != exitOK || len(doc.Stale) > 0 {
				t.Errorf("%s: live hostile sockets: exit %d, stale %q, stderr %q", source, code, doc.paths(), errOut)
			}

			code, out, errOut = runUdsls(append([]string{"--stale", stale, "-o", "json"}, src...)...)
			if code != exitNo {
				t.Errorf("%s: exit %d, want %d; stderr %q", source, code, exitNo, errOut)
			}
			if !json.Valid([]byte(out)) {
				t.Fatalf("%s: invalid JSON:\n%q", source, out)
			}
			if diff := cmp.Diff(sorted(files), sorted(decodeStale(t, []byte(out)).paths())); diff != "" {
				t.Errorf("%s: stale files in JSON (-want +got):\n%s", source, diff)
			}

			code, out, errOut = runUdsls(append([]string{"--stale", stale}, src...)...)
			if code != exitNo {
				t.Errorf("%s: table: exit %d, want %d; stderr %q", source, code, exitNo, errOut)
			}
			requireRows(t, source+" stale table", out, files, "")

			code, out, errOut = runUdsls(append([]string{"--stale", stale, "--remove"}, src...)...)
			if code != exitOK {
				t.Errorf("%s: --remove: exit %d, want %d; stderr %q", source, code, exitOK, errOut)
			}
			requireSafeText(t, source+" removals", out)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			var wantLines []string
			for _, f := range sorted(files) {
				wantLines = append(wantLines, "removed "+render.Escape(f))
			}
			slices.Sort(lines)
			slices.Sort(wantLines)
			if diff := cmp.Diff(wantLines, lines); diff != "" {
				t.Errorf("%s: removal lines (-want +got):\n%s", source, diff)
			}
			if ents, _ := os.ReadDir(stale); len(ents) > 0 {
				t.Errorf("%s: %d files left after --remove", source, len(ents))
			}
		}
		for _, p := range fsPaths {
			if _, err := os.Lstat(p); err != nil {
				t.Errorf("live socket file: %v", err)
			}
		}
	})
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// TestHostileCommand runs a socket holder whose executable is named to
// drive the terminal: its command must be shown escaped.
func TestHostileCommand(t *testing.T) {
	sleep := testenv.NeedTool(t, "sleep", "coreutils")
	dir := t.TempDir()
	exe := filepath.Join(dir, "\x1b]0;pwn\x07\u202e\x1b[2J")
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "held.sock")
	fd, err := bind(sock, unix.SOCK_STREAM, true)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), sock)
	cmd := exec.Command(exe, "600")
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	code, out, errOut := runUdsls("--peers", sock)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	requireSafeText(t, "table", out)
	if want := strconv.Itoa(cmd.Process.Pid) + `/\x1b]0;pwn\x07\u202e`; !strings.Contains(out, want) {
		t.Errorf("table lacks the escaped holder %q:\n%s", want, out)
	}
	code, out, errOut = runUdsls("--check", sock)
	if code != exitOK {
		t.Fatalf("--check: exit %d, stderr %q", code, errOut)
	}
	requireSafeText(t, "--check", out)
}
