// Package bpf holds udsls's BPF programs, compiled by bpf2go into the
// committed *_bpfel.go and *_bpfel.o, so that building udsls needs no
// clang; `go generate ./platform/linux/bpf` rebuilds them (clang, llvm-strip
// and libbpf-dev's headers).
package bpf

//go:generate go tool bpf2go -tags linux -target bpfel fdsock fdsock.c -- -Wall -Werror
