//go:build !unix

package sys

import (
	"fmt"
	"runtime"

	"github.com/udsls/udsls/inspect"
)

// Lstat fails: file identity is not read here.
func Lstat(string) (*inspect.FileInfo, error) {
	return nil, fmt.Errorf("file ownership is not available on %s", runtime.GOOS)
}
