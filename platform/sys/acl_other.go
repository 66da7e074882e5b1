//go:build !linux

package sys

// hasACL is nil where ACLs are not read.
var hasACL func(string) bool
