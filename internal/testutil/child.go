package testutil

import (
	"bufio"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/udsls/udsls/platform/testenv"
)

// StartChild starts cmd, a helper that writes one line once it is ready
// and lives until its stdin closes, and returns that line. stop closes
// its stdin and waits for it, so that its stderr is complete; the test's
// cleanup does the same.
func StartChild(t *testing.T, cmd *exec.Cmd) (line string, stop func(), err error) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = func() {
		stdin.Close()
		cmd.Wait()
	}
	t.Cleanup(stop)
	line, err = bufio.NewReader(stdout).ReadString('\n')
	return line, stop, err
}

// ChildListen binds a stream listener named name in a child process whose
// cwd is dir, so that a relative name binds there, with argv (e.g.
// unshare --net) in front, and returns once it is bound. The child ends
// with the test.
func ChildListen(t *testing.T, dir, name string, argv ...string) error {
	t.Helper()
	py := testenv.NeedTool(t, "python3", "python3")
	const script = `import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(8)
print("ready", flush=True)
sys.stdin.read()
`
	args := append(argv, py, "-c", script, name)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if line, stop, _ := StartChild(t, cmd); line != "ready\n" {
		stop()
		return errors.New(strings.TrimSpace(stderr.String()))
	}
	return nil
}
