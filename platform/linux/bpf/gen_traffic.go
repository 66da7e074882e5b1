package bpf

//go:generate go tool bpf2go -tags linux -target bpfel traffic traffic.c -- -Wall -Werror
