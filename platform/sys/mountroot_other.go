//go:build !linux

package sys

// isMountRoot is nil where mount roots cannot be told: every entry then
// counts as replaceable, which errs towards a finding.
var isMountRoot func(p string) bool
