package main

import (
	"context"

	"github.com/udsls/udsls/inspect"
)

func runAudit(ctx context.Context, o *options, e *env) (int, error) {
	failOn, err := inspect.ParseSeverity(o.failOn)
	if err != nil {
		return exitError, usagef("--fail-on: %v", err)
	}
	for _, p := range o.args {
		if err := inspect.ValidatePattern(p); err != nil {
			return exitError, usagef("%v", err)
		}
	}
	src, err := newSource(o)
	if err != nil {
		return exitError, err
	}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		return exitError, err
	}
	rep, err := inspect.NewAuditor(o.procRoot).Audit(ctx, snap, o.args)
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
	if o.output == "json" {
		err = inspect.WriteAuditJSON(e.stdout, rep)
	} else {
		err = interruptible(ctx, e, func() error { return inspect.WriteAuditTable(e.stdout, rep, e.color) })
	}
	if err != nil {
		return exitError, err
	}
	if rep.Failed(failOn) {
		return exitNo, nil
	}
	return exitOK, nil
}
