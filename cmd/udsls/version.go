package main

import (
	"runtime/debug"
	"strings"
)

// stamped is set by release builds: -ldflags "-X main.stamped=v1.2.3".
var stamped string

// version says which code this binary is: the release stamp, else the module version
// (go install …@v1.2.3, or the pseudo-version go build derives from the checkout), else the
// VCS revision and time, else "devel" with the Go version.
func version() string {
	if stamped != "" {
		return stamped
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v + " (" + bi.GoVersion + ")"
	}
	var rev, at, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return "devel (" + bi.GoVersion + ")"
	}
	return strings.TrimSpace("devel " + rev[:min(12, len(rev))] + dirty + " " + at + " (" + bi.GoVersion + ")")
}
