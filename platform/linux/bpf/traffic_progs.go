package bpf

// TrafficPrograms are the names the kernel lists the traffic counter's
// programs by (bpftool prog list), for tests that check nothing is left
// loaded.
var TrafficPrograms = []string{"udsls_sent", "udsls_received", "udsls_counts"}
