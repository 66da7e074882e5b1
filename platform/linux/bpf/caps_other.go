//go:build !linux

package bpf

func mayLoad() bool { return false }

func missingCaps() []string { return []string{"CAP_BPF", "CAP_PERFMON"} }
