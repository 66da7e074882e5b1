//go:build !linux

package linux

import (
	"fmt"
	"os"
	"runtime"
)

func errNoNetns() error {
	return fmt.Errorf("network namespaces are not available on %s", runtime.GOOS)
}

func nsInode(string) (uint64, error) { return 0, errNoNetns() }

func openNetns(string) (*os.File, uint64, error) { return nil, 0, errNoNetns() }

func inNetns(*os.File, func() error) error { return &enterError{errNoNetns()} }
