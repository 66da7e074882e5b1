package main

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
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

// hold keeps what is said while a full-screen view owns the terminal
// (--watch -v says where each refresh came from): a line written then
// lands in the middle of the view and scrolls it. release writes the lines
// after the view has given the terminal back, the last maxHeld of them.
// Only a terminal is held: a file or pipe loses nothing by a line now.
func (s *stderr) hold() (release func()) {
	if !s.tty {
		return func() {}
	}
	h := &heldWriter{w: s.w, holding: true}
	s.w = h
	return h.release
}

// maxHeld bounds what a long view keeps of stderr.
const maxHeld = 100

// heldWriter stays in place after its release, since a refresh that was
// under way may still say something: then it writes through.
type heldWriter struct {
	mu      sync.Mutex
	w       io.Writer
	holding bool
	lines   [][]byte
	dropped int
}

func (h *heldWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.holding {
		return h.w.Write(p)
	}
	if len(h.lines) == maxHeld {
		h.lines, h.dropped = slices.Delete(h.lines, 0, 1), h.dropped+1
	}
	h.lines = append(h.lines, bytes.Clone(p))
	return len(p), nil
}

func (h *heldWriter) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.holding = false
	if h.dropped > 0 {
		fmt.Fprintf(h.w, "udsls: %d earlier lines said during the view are not shown\n", h.dropped)
	}
	for _, l := range h.lines {
		h.w.Write(l)
	}
	h.lines = nil
}
