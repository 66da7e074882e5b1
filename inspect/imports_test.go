package inspect

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOSFree keeps inspect free of OS access and of presentation: what
// reaches the system lives in platform, what prints in inspect/render.
func TestOSFree(t *testing.T) {
	forbidden := []string{"syscall", "golang.org/x/sys", "os/user", "os/exec", "net",
		"github.com/shirou/gopsutil", "github.com/olekukonko/tablewriter", "github.com/prometheus"}
	var files []string
	for _, dir := range []string{".", "internal/text"} {
		m, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			for _, bad := range forbidden {
				if p == bad || strings.HasPrefix(p, bad+"/") {
					t.Errorf("%s imports %s", f, p)
				}
			}
		}
	}
}
