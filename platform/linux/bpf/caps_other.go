//go:build !linux

package bpf

func mayLoad() bool { return false }
