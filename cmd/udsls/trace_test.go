//go:build unix

package main

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestErrnoName: errnos by their <errno.h> names, the kernel's restart
// codes (which reach the tracepoint, not the process) by theirs, and any
// other by number.
func TestErrnoName(t *testing.T) {
	for e, want := range map[syscall.Errno]string{
		syscall.ECONNREFUSED: "ECONNREFUSED", syscall.EAGAIN: "EAGAIN", syscall.EPROTOTYPE: "EPROTOTYPE",
		512: "ERESTARTSYS", 516: "ERESTART_RESTARTBLOCK", 4000: "errno 4000",
	} {
		if got := errnoName(e); got != want {
			t.Errorf("errnoName(%d) = %q, want %q", int(e), got, want)
		}
	}
}

// TestTraceUnknownUser: --trace names the flag of an unknown user, as the
// listing and --watch do.
func TestTraceUnknownUser(t *testing.T) {
	want := `--user: no user "no-such-user-udsls" on this machine`
	if _, err := traceUIDs([]string{"0", "no-such-user-udsls"}); err == nil || err.Error() != want {
		t.Errorf("traceUIDs = %v, want %q", err, want)
	}
	if err := knownUser("no-such-user-udsls"); err == nil || "--user: "+err.Error() != want {
		t.Errorf("the listing says %v, --trace %q", err, want)
	}
}

// TestTraceNoProcess: --trace -p of a pid that is no process says so, as
// the listing does, instead of waiting in silence.
func TestTraceNoProcess(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(cmd.ProcessState.Pid()) // gone, reaped
	for _, q := range []bool{false, true} {
		args := []string{"--trace", "-p", pid, "--for", "1ms"}
		if q {
			args = append(args, "-q")
		}
		var out, errw bytes.Buffer
		run(context.Background(), args, &out, &errw)
		note := "udsls: no process " + pid + ": "
		if got := strings.Contains(errw.String(), note); got == q {
			t.Errorf("udsls %q: stderr %q; want the note %q: %v", args, errw.String(), note, !q)
		}
		if strings.Contains(out.String(), "no process") {
			t.Errorf("udsls %q: the note went to stdout: %q", args, out.String())
		}
	}
}
