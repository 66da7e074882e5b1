package inspect

import (
	"context"
	"time"
)

// LiveResolver, LiveAuditor and LiveProbe are platform/sys's NewResolver,
// NewAuditor and Probe, set by wiring_test.go: live tests here need this machine's
// processes and accounts, which platform supplies, and only an external
// test package may import platform without an import cycle.
var (
	LiveResolver func(procRoot string) *Resolver
	LiveAuditor  func(procRoot string) *Auditor
	LiveProbe    func(ctx context.Context, path string, timeout time.Duration) ProbeResult
)
