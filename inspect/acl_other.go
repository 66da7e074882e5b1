//go:build !linux

package inspect

// hasACL is nil where ACLs are not read.
var hasACL func(string) bool
