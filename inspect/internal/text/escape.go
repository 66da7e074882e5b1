package text

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape makes an untrusted name safe to print on a terminal and
// unambiguous: control bytes, invalid UTF-8 and every code point that is
// not plainly visible (see hidden) are written as escapes, and a backslash
// is doubled, so that two different names never print the same. The
// escapes are Go's: \n, \t, \r, \\, \xHH for a byte, \uHHHH for a code
// point of the BMP and \UHHHHHHHH above it, always with exactly that many
// lowercase hex digits. Letters, marks, digits, punctuation, symbols and
// the ASCII space pass through.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	appendEscaped(&b, s, true)
	return b.String()
}

// EscapeName is Escape for a socket name that may be a filesystem path or,
// when abstract, an abstract name ("@" and the name). A path that itself
// starts with "@" or "(" (bound relative to the working directory) gets
// that byte written as \x40 or \x28, so that the file "@x" never prints as
// the abstract name "@x", nor the file "(unnamed)" as an unnamed socket.
func EscapeName(name string, abstract bool) string {
	if !abstract && name != "" {
		switch name[0] {
		case '@':
			return `\x40` + Escape(name[1:])
		case '(':
			return `\x28` + Escape(name[1:])
		}
	}
	return Escape(name)
}

// EscapeText makes a message safe for a terminal: an error or warning,
// which may quote OS error text that embeds raw paths. Everything Escape
// escapes is escaped, so the message stays one line of visible text, but a
// backslash is left single: messages quote names with Go's %q or with
// Escape already, and doubling their escapes would garble them.
func EscapeText(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	appendEscaped(&b, s, false)
	return b.String()
}

func appendEscaped(b *strings.Builder, s string, backslash bool) {
	const digits = "0123456789abcdef"
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteString(`\x`)
			b.WriteByte(digits[s[i]>>4])
			b.WriteByte(digits[s[i]&0xf])
		case r == '\\':
			if backslash {
				b.WriteString(`\\`)
			} else {
				b.WriteByte('\\')
			}
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(digits[r>>4])
			b.WriteByte(digits[r&0xf])
		case hidden(r):
			width := 4
			if r > 0xffff {
				b.WriteString(`\U`)
				width = 8
			} else {
				b.WriteString(`\u`)
			}
			for shift := 4 * (width - 1); shift >= 0; shift -= 4 {
				b.WriteByte(digits[r>>shift&0xf])
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
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

// hidden reports a code point above ASCII that a terminal may draw as
// nothing, as blank, as something else, or use to reorder text, so that
// one name could pass for another. Only letters, marks, numbers,
// punctuation and symbols are shown (unicode.IsGraphic without the
// spaces), and not all of them:
//   - every space but ASCII's (no-break and ideographic spaces look like
//     a space), line and paragraph separators;
//   - controls (C1), format characters (bidi overrides and isolates,
//     zero-width joiners, BOM, soft hyphen, tag characters), private use
//     (drawn by whatever the font puts there) and unassigned code points
//     (a newer Unicode than this program's may make them invisible);
//   - the rest of Default_Ignorable_Code_Point, which renderers draw as
//     nothing: variation selectors, the combining grapheme joiner U+034F,
//     the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0, and the
//     reserved ranges Unicode set aside for more of them;
//   - U+2800 BRAILLE PATTERN BLANK, a symbol that draws as a space.
//
// Go's unicode tables give the derived Default_Ignorable_Code_Point as
// Cf, Variation_Selector and Other_Default_Ignorable_Code_Point together.
func hidden(r rune) bool {
	if r < 0x80 {
		return false
	}
	if r == 0x2800 || !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S) {
		return true
	}
	return unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// Hidden reports whether Escape writes r as an escape for not being
// plainly visible, so that tests of printers can check their output.
func Hidden(r rune) bool { return hidden(r) }
