//go:build !unix

package main

import "io"

func termWidth(w io.Writer) int {
	if !isTerminal(w) {
		return 0
	}
	if n, ok := columnsEnv(); ok {
		return n
	}
	return 80
}
