package render

import "github.com/udsls/udsls/inspect/internal/text"

// Escape makes an untrusted name safe to print on a terminal and
// unambiguous: control bytes, invalid UTF-8 and every code point that is
// not plainly visible are written as Go escapes, and a backslash is
// doubled, so that two different names never print the same.
func Escape(s string) string { return text.Escape(s) }

// EscapeName is Escape for a socket name that may be a filesystem path or,
// when abstract, an abstract name ("@" and the name). A path that itself
// starts with "@" or "(" gets that byte written as \x40 or \x28, so that
// the file "@x" never prints as the abstract name "@x".
func EscapeName(name string, abstract bool) string { return text.EscapeName(name, abstract) }

// EscapeText makes a message safe for a terminal: everything Escape
// escapes is escaped, but a backslash is left single, since messages quote
// names with Go's %q or with Escape already.
func EscapeText(s string) string { return text.EscapeText(s) }
