//go:build !unix

package inspect

import (
	"fmt"
	"runtime"
)

func lstat(string) (*FileInfo, error) {
	return nil, fmt.Errorf("file ownership is not available on %s", runtime.GOOS)
}
