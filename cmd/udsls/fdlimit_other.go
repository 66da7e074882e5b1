//go:build !unix

package main

// checkFDLimit has nothing to check where there is no RLIMIT_NOFILE.
func checkFDLimit() error { return nil }
