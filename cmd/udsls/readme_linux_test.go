package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeTryIt runs README's "try it" commands as written, in bash, with the built udsls
// first on PATH: a newcomer's first minute must work.
func TestReadmeTryIt(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var block string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(readme), -1) {
		if strings.Contains(m[1], "udsls --serve demo") {
			block = m[1]
			break
		}
	}
	if block == "" {
		t.Fatal("README has no sh block with 'udsls --serve demo'")
	}
	bin := buildUdsls(t)
	dir := t.TempDir()
	cmd := exec.Command("bash", "-e", "-c", block+"wait\n")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README's try-it block: %v\n%s\n%s", err, block, out)
	}
	for _, want := range []string{"demo/echo.sock", "listening", `demo/odd name\n\x1b[31m.sock`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "demo")); err == nil {
		t.Errorf("demo is left behind after kill %%1")
	}
}
