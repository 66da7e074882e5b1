package sys

import (
	"errors"

	"golang.org/x/sys/unix"
)

// hasACL reports whether a file carries a POSIX access ACL, which
// generic_permission consults before the mode bits.
func hasACL(p string) bool {
	_, err := unix.Lgetxattr(p, "system.posix_acl_access", nil)
	return err == nil || errors.Is(err, unix.ERANGE)
}
