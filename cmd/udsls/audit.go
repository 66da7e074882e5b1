package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform/sys"
)

func runAudit(ctx context.Context, o *options, e *env) (int, error) {
	failOn, err := inspect.ParseSeverity(o.failOn)
	if err != nil {
		return exitError, usagef("--fail-on: %v", err)
	}
	var patterns, dirs []string
	for _, p := range o.args {
		// A directory named as such audits the sockets below it: as a
		// pattern it would match only a socket bound at that very path.
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			abs, err := filepath.Abs(p)
			if err != nil {
				return exitError, fmt.Errorf("directory %q: %w", p, err)
			}
			dirs = append(dirs, abs)
			if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
				dirs = append(dirs, real)
			}
			// Still a glob too, as it was before a directory took its
			// name.
			if strings.ContainsAny(p, "*?[\\") && inspect.ValidatePattern(p) == nil {
				patterns = append(patterns, p)
			}
			continue
		}
		// An existing file is itself, as in the listing: the shell
		// expanded DIR/* onto names that may hold [ * ? or \.
		if _, err := os.Lstat(p); err == nil {
			patterns = append(patterns, globQuote.Replace(p))
			continue
		}
		if err := inspect.ValidatePattern(p); err != nil {
			return exitError, usagef("%v", err)
		}
		patterns = append(patterns, p)
	}
	src, err := newSource(o)
	if err != nil {
		return exitError, err
	}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		return exitError, err
	}
	a := sys.NewAuditor(o.procRoot)
	a.Resolver = newResolver(o, src)
	a.Containers, a.Units = o.containers, o.units
	if n, ok := liveSource(src).(interface {
		NetnsProcesses(context.Context) ([]inspect.NetnsProcess, int, error)
	}); ok {
		a.NetnsProcesses = n.NetnsProcesses
	}
	rep, err := a.AuditUnder(ctx, snap, patterns, dirs)
	sayContainerCalls(o)
	if err == nil {
		// A cancelled audit may have seen only some sockets.
		err = ctx.Err()
	}
	if err != nil {
		return exitError, err
	}

	for _, w := range rep.Warnings {
		e.warn("%s", w)
	}
	switch {
	case o.output == "json":
		err = render.WriteAuditJSON(e.stdout, rep)
	case len(rep.Findings) == 0:
		if !rep.NothingAudited {
			e.note("no audit findings")
		}
	default:
		err = render.WriteAuditTable(e.stdout, rep, e.color)
	}
	if err != nil {
		return exitError, err
	}
	// Naming what to audit and auditing nothing is no green light.
	if rep.Failed(failOn) || rep.NothingAudited {
		return exitNo, nil
	}
	return exitOK, nil
}
