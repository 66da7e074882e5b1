package inspect

import (
	"testing"
	"unicode/utf8"
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
		// An invisible tag character past U+FFFF: \ue0001 would read as U+E000 "1".
		{"/tmp/tag\U000e0001", `/tmp/tag\U000e0001`},
		{"/tmp/tag\U000e00411", `/tmp/tag\U000e00411`},
		// Variation selectors draw as nothing: "a\ufe0f" would pass for "a".
		{"/tmp/a\ufe0f.sock", `/tmp/a\ufe0f.sock`},
		{"/tmp/a\U000e0100.sock", `/tmp/a\U000e0100.sock`},
		{"/tmp/a\u034f.sock", `/tmp/a\u034f.sock`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := Escape(tt.in); got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"plain", "a\nb", "\x1b[2J", "\xff", "\u202e", `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Escape(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Escape(%q) = %q is not valid UTF-8", s, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || hidden(r) {
				t.Fatalf("Escape(%q) = %q keeps %U", s, got, r)
			}
		}
	})
}
