package bpf

//go:generate go tool bpf2go -tags linux -target bpfel dump dump.c -- -Wall -Werror
