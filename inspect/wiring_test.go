package inspect_test

import (
	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/sys"
)

func init() {
	inspect.LiveResolver = sys.NewResolver
	inspect.LiveAuditor = sys.NewAuditor
	inspect.LiveProbe = sys.Probe
	inspect.LiveLstat = sys.Lstat
}
