package inspect

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape makes an untrusted name safe to print on a terminal: control
// bytes, invalid UTF-8 and invisible or reordering code points (bidi
// overrides, zero-width characters) are written as Go-style escapes, and a
// backslash is doubled so that every escape is unambiguous. Printable text,
// spaces included, passes through.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		case hidden(r):
			// Past U+FFFF, \u with five digits would read as a BMP escape
			// and a digit (\ue0001 as U+E000 "1"): Go's \U takes eight.
			digits := 4
			if r > 0xffff {
				b.WriteString(`\U`)
				digits = 8
			} else {
				b.WriteString(`\u`)
			}
			h := strconv.FormatUint(uint64(r), 16)
			b.WriteString(strings.Repeat("0", digits-min(digits, len(h))))
			b.WriteString(h)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' || c >= 0x80 {
			goto slow
		}
	}
	return false
slow:
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				return true
			}
		}
		if r < 0x20 || r == 0x7f || r == '\\' || hidden(r) {
			return true
		}
	}
	return false
}

// hidden reports code points a terminal draws as nothing or uses to
// reorder text, so that one name could pass for another: C1 controls,
// format characters (bidi overrides and isolates, zero-width joiners,
// BOM), line or paragraph separators, Hangul fillers, and variation
// selectors and the combining grapheme joiner, which are drawn as nothing
// after most characters ("a\ufe0f" looks like "a").
func hidden(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || unicode.Is(unicode.Cf, r) ||
		r == 0x2028 || r == 0x2029 || r == 0x115f || r == 0x1160 || r == 0x3164 ||
		r == 0x034f || (r >= 0x180b && r <= 0x180f) || (r >= 0xfe00 && r <= 0xfe0f) || (r >= 0xe0100 && r <= 0xe01ef)
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}
