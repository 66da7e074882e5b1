package text

import (
	"io/fs"
	"strconv"
)

// NameOr is an account name escaped for a terminal, or the numeric id
// when the name is unknown.
func NameOr(name string, id uint32) string {
	if name != "" {
		return Escape(name)
	}
	return strconv.FormatUint(uint64(id), 10)
}

// AppendOctalMode appends permission bits the way chmod takes them: four
// octal digits.
func AppendOctalMode(b []byte, m fs.FileMode) []byte {
	v := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	return append(b, byte('0'+v>>9&7), byte('0'+v>>6&7), byte('0'+v>>3&7), byte('0'+v&7))
}

// AppendHex appends id as "0x…" in lowercase hex, as lsof prints kernel
// addresses.
func AppendHex(b []byte, id uint64) []byte {
	return strconv.AppendUint(append(b, '0', 'x'), id, 16)
}
