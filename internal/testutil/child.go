package testutil

import (
	"bufio"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/udsls/udsls/platform/testenv"
)

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
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		stdin.Close()
		cmd.Wait()
		return errors.New(strings.TrimSpace(stderr.String()))
	}
	return nil
}
