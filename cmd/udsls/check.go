package main

import (
	"context"
	"errors"
	"os/user"
	"strconv"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform/sys"
)

func runCheck(ctx context.Context, o *options, e *env) (int, error) {
	if len(o.args) == 0 {
		return exitError, usagef("--check needs at least one socket path")
	}
	if o.timeout <= 0 {
		return exitError, usagef("--timeout %s: must be positive", o.timeout)
	}
	if o.wait < 0 {
		return exitError, usagef("--wait %s: must not be negative", o.wait)
	}
	exp, err := checkExpect(o)
	if err != nil {
		return exitError, err
	}
	r := sys.NewResolver(o.procRoot)
	c := sys.NewChecker(r)
	c.Timeout, c.Expect = o.timeout, exp
	paths, asGiven, err := checkInNetns(o, c)
	if err != nil {
		return exitError, err
	}
	results := c.Wait(ctx, paths, o.wait)
	asGiven(results)
	if ctx.Err() != nil {
		// An interrupted check proved nothing either way.
		return exitError, errors.New("check interrupted")
	}

	// Holders and types are garnish for people reading verdicts; quiet
	// runs and metrics do without the cost of a listing.
	var warnings []string
	if !o.quiet && o.output != "prometheus" && inspect.WantsListing(results) {
		snap, err := snapshot(ctx, o, r)
		if err != nil {
			warnings = append(warnings, "no holder details: "+err.Error())
		} else {
			c.Annotate(ctx, results, snap)
		}
	}
	for _, w := range warnings {
		e.warn("%s", w)
	}

	code, unhealthy := exitOK, 0
	for i := range results {
		if !results[i].Healthy() {
			code, unhealthy = exitNo, unhealthy+1
		}
	}
	if o.wait > 0 && unhealthy > 0 {
		e.note("waited %v; %d of %d still not healthy", o.wait, unhealthy, len(results))
	}
	switch {
	case o.output == "prometheus":
		m := render.NewMetrics()
		m.AddChecks(results)
		if o.quiet && o.outputFile == "" {
			break
		}
		err = writeOutput(o, e, m.Write)
	case o.quiet:
	case o.output == "json":
		err = render.WriteChecksJSON(e.stdout, results, warnings)
	default:
		err = render.WriteChecks(e.stdout, results, e.color)
	}
	if err != nil {
		return exitError, err
	}
	return code, nil
}

// snapshot lists the live sockets, and lets r learn from their source
// what it tells of holders, as the listing's resolver does.
func snapshot(ctx context.Context, o *options, r *inspect.Resolver) (*inspect.Snapshot, error) {
	src, err := newSource(o)
	if err != nil {
		return nil, err
	}
	live := newResolver(o, src)
	r.Container, r.Service = live.Container, live.Service
	return src.Snapshot(ctx)
}

func checkExpect(o *options) (inspect.Expect, error) {
	var exp inspect.Expect
	if o.expectMode != "" {
		m, err := inspect.ParseMode(o.expectMode)
		if err != nil {
			return exp, usagef("--expect-mode: %v", err)
		}
		exp.Mode = &m
	}
	if o.expectOwner != "" {
		id, err := lookupID(o.expectOwner, func(s string) (string, error) {
			u, err := user.Lookup(s)
			if err != nil {
				return "", err
			}
			return u.Uid, nil
		})
		if err != nil {
			return exp, usagef("--expect-owner: unknown user %q", o.expectOwner)
		}
		exp.UID = &id
	}
	if o.expectGroup != "" {
		id, err := lookupID(o.expectGroup, func(s string) (string, error) {
			g, err := user.LookupGroup(s)
			if err != nil {
				return "", err
			}
			return g.Gid, nil
		})
		if err != nil {
			return exp, usagef("--expect-group: unknown group %q", o.expectGroup)
		}
		exp.GID = &id
	}
	if o.expectType != "" {
		t, err := inspect.ParseType(o.expectType)
		if err != nil {
			return exp, usagef("--expect-type: %v", err)
		}
		exp.Type = t
	}
	return exp, nil
}

// lookupID takes a number as an id and looks anything else up as a name.
func lookupID(s string, lookup func(string) (string, error)) (uint32, error) {
	if id, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(id), nil
	}
	idStr, err := lookup(s)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseUint(idStr, 10, 32)
	return uint32(id), err
}
