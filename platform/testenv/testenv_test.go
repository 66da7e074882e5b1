package testenv

import "testing"

func TestHeavy(t *testing.T) {
	for _, tc := range []struct {
		env     string
		skipped bool
	}{{"", true}, {"0", true}, {"1", false}} {
		t.Setenv(HeavyEnv, tc.env)
		ran := false
		t.Run("UDSLS_HEAVY="+tc.env, func(t *testing.T) {
			Heavy(t, "a test of Heavy")
			ran = true
		})
		if ran == tc.skipped {
			t.Errorf("UDSLS_HEAVY=%q: ran the heavy test = %v, want %v", tc.env, ran, !tc.skipped)
		}
	}
}
