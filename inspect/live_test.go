package inspect

import (
	"context"
	"time"
)

// LiveResolver, LiveAuditor, LiveProbe and LiveLstat are platform/sys's
// NewResolver, NewAuditor, Probe and Lstat, set by wiring_test.go: live
// tests here need this machine's files, processes and accounts, which
// platform supplies, and only an external test package may import
// platform without an import cycle.
var (
	LiveResolver func(procRoot string) *Resolver
	LiveAuditor  func(procRoot string) *Auditor
	LiveProbe    func(ctx context.Context, path string, timeout time.Duration) ProbeResult
	LiveLstat    func(path string) (*FileInfo, error)
)
