package bpf

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// structDef finds a struct's definition (not a forward declaration) and
// its name less a CO-RE ___flavour suffix.
var structDef = regexp.MustCompile(`(?m)^struct ([A-Za-z_][A-Za-z0-9_]*?)(?:___[A-Za-z0-9_]+)? \{`)

// TestHeadersShareKernelTypes: a program's header defines no kernel type
// kernel.h has, under its own name or a flavour of it. Two definitions of
// one type drift apart: a field added to one is missing from the other.
func TestHeadersShareKernelTypes(t *testing.T) {
	kernel, err := os.ReadFile("kernel.h")
	if err != nil {
		t.Fatal(err)
	}
	shared := map[string]bool{}
	for _, m := range structDef.FindAllStringSubmatch(string(kernel), -1) {
		shared[m[1]] = true
	}
	if !shared["sock"] || !shared["file"] {
		t.Fatalf("kernel.h's structs not found: %v", shared)
	}
	headers, err := filepath.Glob("*.h")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		if h == "kernel.h" {
			continue
		}
		b, err := os.ReadFile(h)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range structDef.FindAllStringSubmatch(string(b), -1) {
			if shared[m[1]] {
				t.Errorf("%s defines struct %s, which kernel.h has: use kernel.h's", h, m[0][len("struct "):len(m[0])-2])
			}
		}
	}
}
