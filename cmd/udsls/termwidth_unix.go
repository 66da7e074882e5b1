//go:build unix

package main

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// termWidth is the width of the terminal w writes to, 0 when w is not one. COLUMNS, as
// ls and ps honour it, overrides.
func termWidth(w io.Writer) int {
	if !isTerminal(w) {
		return 0
	}
	if n, ok := columnsEnv(); ok {
		return n
	}
	ws, err := unix.IoctlGetWinsize(int(w.(*os.File).Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 {
		return 0
	}
	return int(ws.Col)
}
