package bpf

import "golang.org/x/sys/unix"

func missingCaps() []string {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return []string{"CAP_BPF", "CAP_PERFMON"}
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	if has(unix.CAP_SYS_ADMIN) {
		return nil
	}
	var miss []string
	if !has(unix.CAP_BPF) {
		miss = append(miss, "CAP_BPF")
	}
	if !has(unix.CAP_PERFMON) {
		miss = append(miss, "CAP_PERFMON")
	}
	return miss
}
