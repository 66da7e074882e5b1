package darwin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	ctx := context.Background()
	out, err := run(ctx, timeout, "sh", "-c", "echo $LC_ALL")
	if err != nil || string(out) != "C\n" {
		t.Errorf("LC_ALL in the command: %q, %v; want \"C\\n\"", out, err)
	}

	out, err = run(ctx, timeout, "sh", "-c", "echo partial; echo 'lsof: oops' >&2; exit 3")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 3 || err.Error() != "exit status 3: lsof: oops" || string(out) != "partial\n" {
		t.Errorf("failing command: %q, %v; want its output and exit status 3 with stderr", out, err)
	}

	_, err = run(ctx, timeout, "udsls-no-such-command")
	if err == nil || !strings.HasPrefix(err.Error(), "udsls-no-such-command not found in PATH") {
		t.Errorf("missing command: %v; want an error naming it", err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err = run(cancelled, timeout, "sleep", "10"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v; want context.Canceled", err)
	}

	_, err = run(ctx, time.Millisecond, "sleep", "10")
	if err == nil || !strings.HasPrefix(err.Error(), "sleep: no answer within") {
		t.Errorf("slow command: %v; want a timeout naming it", err)
	}
}
