package main

import (
	"bytes"
	"context"
	"testing"
)

func TestUnitUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"bad glob", []string{"--unit", "nginx["}, `udsls: error: --unit: bad pattern "nginx[": syntax error in pattern; quote a glob for the shell`},
		{"empty", []string{"--unit", "a,,b"}, `udsls: error: --unit: empty unit name in "a,,b"`},
		{"capture", []string{"--unit", "a", "--from", "procnet:x"}, "udsls: error: --unit reads the units of live processes; a --from capture has none"},
		{"stale", []string{"--stale", "--unit", "a"}, "udsls: error: --unit applies to the listing, not to --stale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			want := tt.stderr + "\nudsls: hint: see 'udsls --help'\n"
			if code != exitError || stdout.Len() != 0 || stderr.String() != want {
				t.Errorf("run(%q) = %d, stdout %q, stderr %q; want 2, nothing, %q", tt.args, code, stdout.String(), stderr.String(), want)
			}
		})
	}
	// With --audit it is accepted: a unit nobody runs in audits nothing.
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--audit", "--unit", "udsls-no-such-unit-*"}, &stdout, &stderr); code != exitNo || stdout.Len() != 0 {
		t.Errorf("--audit --unit of no unit: exit %d, stdout %q, stderr %q; want 1 and nothing", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"--unit", "udsls-no-such-unit-*"}, &stdout, &stderr); code != exitNo || stdout.Len() != 0 {
		t.Errorf("listing --unit of no unit: exit %d, stdout %q, stderr %q; want 1 and nothing", code, stdout.String(), stderr.String())
	}
}
