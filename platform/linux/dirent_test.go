package linux

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// dirent builds one struct linux_dirent64 record holding name, padded to
// 8 bytes as the kernel pads them.
func dirent(name string) []byte {
	n := (19 + len(name) + 1 + 7) &^ 7
	b := make([]byte, n)
	binary.NativeEndian.PutUint64(b, 42) // ino
	binary.NativeEndian.PutUint16(b[16:], uint16(n))
	b[18] = 10 // DT_LNK
	copy(b[19:], name)
	return b
}

// withReclen sets a record's length field to n.
func withReclen(b []byte, n int) []byte {
	binary.NativeEndian.PutUint16(b[16:], uint16(n))
	return b
}

func TestNextDirent(t *testing.T) {
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	noNUL := dirent("12345")
	for i := 19; i < len(noNUL); i++ {
		noNUL[i] = '7'
	}
	tests := []struct {
		name string
		buf  []byte
		want []string // names until the first record that does not fit, then "!"
	}{
		{"empty", nil, nil},
		{"one", dirent("3"), []string{"3"}},
		{"several", cat(dirent("."), dirent(".."), dirent("1023"), dirent("socket")), []string{".", "..", "1023", "socket"}},
		{"name filling the padding", dirent("abcd"), []string{"abcd"}},
		{"short header", dirent("1")[:18], []string{"!"}},
		{"reclen zero", withReclen(dirent("1"), 0), []string{"!"}},
		{"reclen shorter than the header", withReclen(dirent("1"), 19), []string{"!"}},
		{"reclen past the end", cat(dirent("1"), withReclen(dirent("2"), 200)), []string{"1", "!"}},
		{"name without NUL", cat(dirent("1"), noNUL), []string{"1", "!"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for b := tt.buf; len(b) > 0; {
				name, cname, rest := nextDirent(b)
				if name == nil {
					got = append(got, "!")
					break
				}
				if string(cname) != string(name)+"\x00" {
					t.Errorf("cname %q for name %q, want the name and a NUL", cname, name)
				}
				got = append(got, string(name))
				b = rest
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("names mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
