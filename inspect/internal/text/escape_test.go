package text

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/udsls/udsls/platform/testenv"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/run/plain.sock", "/run/plain.sock"},
		{"/tmp/with space.sock", "/tmp/with space.sock"},
		{"/tmp/a\nb", `/tmp/a\nb`},
		{"/tmp/\x1b[31mred", `/tmp/\x1b[31mred`},
		{"/tmp/tab\there", `/tmp/tab\there`},
		{"/tmp/bad\xff\xfeutf8", `/tmp/bad\xff\xfeutf8`},
		{`/tmp/back\slash`, `/tmp/back\\slash`},
		{"/tmp/\u202egnp.sock", `/tmp/\u202egnp.sock`},
		{"/tmp/zero\u200bwidth", `/tmp/zero\u200bwidth`},
		{"/tmp/c1\u009bx", `/tmp/c1\u009bx`},
		{"/tmp/del\x7f", `/tmp/del\x7f`},
		{"@abs\x00tract", `@abs\x00tract`},
		{"/tmp/ünïcödé-日本", "/tmp/ünïcödé-日本"},
		{"/tmp/osc\x1b]8;;http://x\x07link", `/tmp/osc\x1b]8;;http://x\x07link`},
		// Default-ignorable code points that terminals draw as nothing.
		{"app\u034f.sock", `app\u034f.sock`},
		{"app\ufe0f.sock", `app\ufe0f.sock`},
		{"app\U000e0100.sock", `app\U000e0100.sock`},
		{"app\uffa0.sock", `app\uffa0.sock`},
		{"app\u3164.sock", `app\u3164.sock`},
		{"app\u115f\u1160.sock", `app\u115f\u1160.sock`},
		{"app\u180b.sock", `app\u180b.sock`},
		{"tag\U000e0041", `tag\U000e0041`},
		{"app\u00ad.sock", `app\u00ad.sock`},
		// Blanks that look like an ASCII space.
		{"a\u00a0b", `a\u00a0b`},
		{"a\u3000b", `a\u3000b`},
		{"a\u2800b", `a\u2800b`},
		// Private use and unassigned code points.
		{"pua\ue000", `pua\ue000`},
		{"pua\U000f0000", `pua\U000f0000`},
		{"nonchar\uffff", `nonchar\uffff`},
		{"unassigned\U0002fffd", `unassigned\U0002fffd`},
		// Exactly 4 or 8 digits: U+E000 then "1b" is not U+E001B.
		{"\ue0001b", `\ue0001b`},
		{"\U000e001b", `\U000e001b`},
		// Visible non-ASCII stays.
		{"emoji-\U0001f600", "emoji-\U0001f600"},
		{"combining-e\u0301", "combining-e\u0301"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := Escape(tt.in); got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got, err := unescape(tt.want); err != nil || got != tt.in {
				t.Errorf("unescape(%q) = %q, %v; want %q", tt.want, got, err, tt.in)
			}
		})
	}
}

func TestEscapeName(t *testing.T) {
	tests := []struct {
		name     string
		abstract bool
		want     string
	}{
		{"@x", true, "@x"},
		{"@x", false, `\x40x`},
		{"@", false, `\x40`},
		{"x@y", false, "x@y"},
		{"/run/@x", false, "/run/@x"},
		{"@\x1b", true, `@\x1b`},
		{"@\x1b", false, `\x40\x1b`},
		{"(unnamed)", false, `\x28unnamed)`},
		{"a(b)", false, "a(b)"},
	}
	for _, tt := range tests {
		if got := EscapeName(tt.name, tt.abstract); got != tt.want {
			t.Errorf("EscapeName(%q, %v) = %q, want %q", tt.name, tt.abstract, got, tt.want)
		}
	}
	if EscapeName("@x", true) == EscapeName("@x", false) {
		t.Error("the abstract name @x and the file @x print alike")
	}
}

func TestEscapeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`open "/tmp/\x1b": permission denied`, `open "/tmp/\x1b": permission denied`},
		{"open /tmp/\x1b[2J/x: file name too long", `open /tmp/\x1b[2J/x: file name too long`},
		{"two\nlines\tand\ra \xff", `two\nlines\tand\ra \xff`},
		{"invisible \u034f\U000e0100", `invisible \u034f\U000e0100`},
	}
	for _, tt := range tests {
		if got := EscapeText(tt.in); got != tt.want {
			t.Errorf("EscapeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// unescape inverts Escape; it proves in FuzzEscape that Escape is
// injective: a decoder that finds every name again means no two names
// share an output.
func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", strconv.ErrSyntax
		}
		c := s[i+1]
		i += 2
		switch c {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
			if i+n > len(s) {
				return "", strconv.ErrSyntax
			}
			h := s[i : i+n]
			if strings.ToLower(h) != h {
				return "", strconv.ErrSyntax
			}
			v, err := strconv.ParseUint(h, 16, 32)
			if err != nil {
				return "", err
			}
			if c == 'x' {
				b.WriteByte(byte(v))
			} else {
				b.WriteRune(rune(v))
			}
			i += n
		default:
			return "", strconv.ErrSyntax
		}
	}
	return b.String(), nil
}

// shown is what may reach a terminal, defined apart from hidden so that
// the fuzzer checks the escaper against a second opinion: printable
// (unicode.IsPrint: letters, marks, numbers, punctuation, symbols, ASCII
// space) and not default-ignorable.
func shown(r rune) bool {
	return unicode.IsPrint(r) && !unicode.In(r, unicode.Cf, unicode.Co,
		unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"plain", "a\nb", "\x1b[2J", "\xff", "\u202e", `\`, `\x41`, "\ue0001b",
		"app\u034f.sock", "\U000e0100", "\uffa0", "\u3164", "@x", `\x40x`, "\u00a0", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, got := range []string{Escape(s), EscapeText(s), EscapeName(s, false), EscapeName(s, true)} {
			if !utf8.ValidString(got) {
				t.Fatalf("%q escapes to %q, not valid UTF-8", s, got)
			}
			for _, r := range got {
				if !shown(r) {
					t.Fatalf("%q escapes to %q, which keeps %U", s, got, r)
				}
			}
		}
		got := Escape(s)
		back, err := unescape(got)
		if err != nil || back != s {
			t.Fatalf("Escape(%q) = %q, which reads back as %q (%v): two names could print alike", s, got, back, err)
		}
		rel, abs := EscapeName(s, false), EscapeName(s, true)
		if strings.HasPrefix(s, "@") && rel == abs {
			t.Fatalf("file and abstract name %q both print %q", s, rel)
		}
		if strings.HasPrefix(rel, "@") || strings.HasPrefix(rel, "(") {
			t.Fatalf("file %q prints %q, like an abstract or unnamed socket", s, rel)
		}
		if back, err := unescape(rel); err != nil || back != s {
			t.Fatalf("EscapeName(%q, false) = %q reads back as %q (%v)", s, rel, back, err)
		}
	})
}

// TestEscapeEveryCodePoint tries what the fuzzer may not reach: every code
// point alone, and every byte alone.
func TestEscapeEveryCodePoint(t *testing.T) {
	testenv.Heavy(t, "escapes all 1.1 million code points, ~15s under -race")
	var kept int
	for r := rune(0); r <= unicode.MaxRune; r++ {
		s := string(r)
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		got := Escape(s)
		for _, c := range got {
			if !shown(c) {
				t.Fatalf("Escape(%U) = %q keeps %U", r, got, c)
			}
		}
		if back, err := unescape(got); err != nil || back != s {
			t.Fatalf("Escape(%U) = %q reads back as %q (%v)", r, got, back, err)
		}
		if got == s && r >= 0x80 {
			kept++
		}
	}
	for c := 0; c < 256; c++ {
		s := string([]byte{byte(c)})
		if back, err := unescape(Escape(s)); err != nil || back != s {
			t.Fatalf("Escape(%q) = %q reads back as %q (%v)", s, Escape(s), back, err)
		}
	}
	t.Logf("%d non-ASCII code points pass through unescaped", kept)
}
