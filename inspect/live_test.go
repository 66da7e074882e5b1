package inspect

// LiveResolver and LiveAuditor are platform/sys's NewResolver and
// NewAuditor, set by wiring_test.go: live tests here need this machine's
// processes and accounts, which platform supplies, and only an external
// test package may import platform without an import cycle.
var (
	LiveResolver func(procRoot string) *Resolver
	LiveAuditor  func(procRoot string) *Auditor
)
