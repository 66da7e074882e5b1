package bpf

//go:generate go tool bpf2go -tags linux -target bpfel trace trace.c -- -Wall -Werror
