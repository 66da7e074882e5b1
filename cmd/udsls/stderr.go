package main

import (
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/udsls/udsls/inspect/render"
)

// stderr is the only way udsls writes to its standard error. Messages
// quote OS errors, and those embed raw paths: a directory named with an
// escape sequence by an unprivileged user would otherwise reach root's
// terminal through "permission denied" or "file name too long". So every
// line is escaped here, where it is written, whatever built it; the writer
// itself is not reachable from the modes.
type stderr struct {
	w   io.Writer
	tty bool // progress lines may be drawn
}

func newStderr(w io.Writer) *stderr { return &stderr{w: w, tty: isTerminal(w)} }

// say writes one "udsls: KIND: TEXT" line, TEXT escaped so that it is one
// line of visible characters (render.EscapeText).
func (s *stderr) say(kind, text string) {
	fmt.Fprintf(s.w, "udsls: %s: %s\n", kind, render.EscapeText(text))
}

func (s *stderr) error(err error) { s.say("error", errorText(err)) }

func (s *stderr) hint(text string) { s.say("hint", text) }

// note is a line with no kind: what an empty or clean result means.
func (s *stderr) note(text string) { fmt.Fprintf(s.w, "udsls: %s\n", render.EscapeText(text)) }

// progress draws text over the previous progress line; erase removes it.
// They write only on a terminal.
func (s *stderr) progress(text string) {
	if s.tty {
		fmt.Fprintf(s.w, "\rudsls: %s\x1b[K", render.EscapeText(text))
	}
}

func (s *stderr) erase() {
	if s.tty {
		fmt.Fprint(s.w, "\r\x1b[K")
	}
}

// maxErrorText bounds an error line: the error about a malformed capture
// quotes the bad input, which may be megabytes without a newline.
const maxErrorText = 1024

func errorText(err error) string {
	s := err.Error()
	if len(s) <= maxErrorText {
		return s
	}
	cut := maxErrorText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "... (" + strconv.Itoa(len(s)-cut) + " more bytes)"
}
