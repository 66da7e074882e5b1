package ascii

import "testing"

func TestDigits(t *testing.T) {
	for s, want := range map[string]bool{"": false, "0": true, "0123456789": true, "+1": false, "-1": false, " 1": false, "1a": false, "١": false} {
		if got := Digits(s); got != want {
			t.Errorf("Digits(%q) = %v, want %v", s, got, want)
		}
	}
	for c := 0; c < 256; c++ {
		b := byte(c)
		hex := b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
		if IsHex(b) != hex || IsDigit(b) != (b >= '0' && b <= '9') {
			t.Errorf("byte %#x: IsHex %v IsDigit %v", b, IsHex(b), IsDigit(b))
		}
	}
}
