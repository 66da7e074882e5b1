//go:build !unix

package main

import (
	"strconv"
	"syscall"
)

// errnoName has no names of errnos here, where nothing is traced.
func errnoName(e syscall.Errno) string { return "errno " + strconv.Itoa(int(e)) }
