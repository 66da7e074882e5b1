//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package bpf

import (
	"testing"

	"github.com/cilium/ebpf/link"
)

// BenchmarkLoadAttach is the fixed cost of the fd iterator: load the
// program (fitting it to the kernel's BTF), attach it, open one instance
// and close all of it, without reading a record.
func BenchmarkLoadAttach(b *testing.B) {
	for b.Loop() {
		var objs fdsockObjects
		if err := loadFdsockObjects(&objs, nil); err != nil {
			b.Skipf("the fd iterator does not load: %v", err)
		}
		it, err := link.AttachIter(link.IterOptions{Program: objs.UdslsFdsock})
		if err != nil {
			b.Fatal(err)
		}
		r, err := it.Open()
		if err != nil {
			b.Fatal(err)
		}
		r.Close()
		it.Close()
		objs.Close()
	}
}
