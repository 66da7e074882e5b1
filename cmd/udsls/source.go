package main

import (
	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform"
)

// newSource picks where sockets come from: saved captures when --from is
// given, otherwise the live backend of this operating system.
func newSource(o *options) (inspect.Source, error) {
	if err := netnsUsage(o); err != nil {
		return nil, err
	}
	if len(o.from) > 0 {
		return platform.FromCaptures(o.from)
	}
	return platform.Default(platform.Options{ProcRoot: o.procRoot, Source: o.source, AllNetns: o.allNetns, Netns: o.netns, FDSource: o.fdSource})
}
