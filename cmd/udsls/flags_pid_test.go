package main

import (
	"bytes"
	"context"
	"testing"
)

// TestPIDEmpty: an empty element of -p names what was typed, not "".
func TestPIDEmpty(t *testing.T) {
	for _, args := range [][]string{{"-p", "1,,2"}, {"-p", "1,"}, {"--pid=,1"}} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, &stdout, &stderr)
		want := "udsls: error: --pid: empty process id in \"" + map[string]string{"1,,2": "1,,2", "1,": "1,", "--pid=,1": ",1"}[args[len(args)-1]] + "\"\nudsls: hint: see 'udsls --help'\n"
		if code != exitError || stdout.Len() != 0 || stderr.String() != want {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q; want 2, nothing, %q", args, code, stdout.String(), stderr.String(), want)
		}
	}
}
