// Package ascii classifies bytes of the ASCII text the kernel and other
// tools write, without the Unicode tables of package unicode.
package ascii

// IsDigit reports a decimal digit.
func IsDigit(c byte) bool { return '0' <= c && c <= '9' }

// IsHex reports a hexadecimal digit of either case.
func IsHex(c byte) bool {
	return IsDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Digits reports a non-empty run of decimal digits: no sign, no space.
func Digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !IsDigit(s[i]) {
			return false
		}
	}
	return true
}
