package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform"
)

// beforeRemove, when set, runs between the scan and each removal: tests
// change the file there to race the re-check.
var beforeRemove func(path string)

// defaultStaleDirs are where services put their sockets.
func defaultStaleDirs() []string {
	dirs := []string{"/tmp", "/run", "/var/run", "/dev/shm"}
	if x := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) {
		dirs = append(dirs, x)
	}
	return dirs
}

func runStale(ctx context.Context, o *options, e *env) (int, error) {
	if o.maxDepth < 0 {
		return exitError, usagef("invalid --max-depth %d: must be 0 or more", o.maxDepth)
	}
	src, netns, err := staleSource(o)
	if err != nil {
		return exitError, err
	}
	so := inspect.StaleOptions{Dirs: o.args, Explicit: true, CrossFS: o.crossFS, MaxDepth: o.maxDepth, Netns: netns}
	if len(so.Dirs) == 0 {
		so.Dirs, so.Explicit = defaultStaleDirs(), false
	}
	if so.Root, err = staleRoot(o); err != nil {
		return exitError, err
	}
	var erase func()
	so.Progress, erase = progressLine(e)
	rep, err := inspect.FindStale(ctx, src, newResolver(o, src), so)
	erase()
	if err != nil {
		return exitError, err
	}
	warnings := rep.Warnings
	for _, w := range warnings {
		e.warn("%s", w)
	}

	remaining := len(rep.Stale)
	if o.remove {
		// Removals and their report are not cut short by a forced exit.
		critical.Lock()
		defer critical.Unlock()
		remaining = 0
		verb := "removed "
		if o.dryRun {
			verb = "would remove "
		}
		for i := range rep.Stale {
			f := &rep.Stale[i]
			if err := ctx.Err(); err != nil {
				return exitError, staleOutput(ctx, o, e, rep, warnings, err)
			}
			if beforeRemove != nil {
				beforeRemove(f.Path)
			}
			err := inspect.RemoveStale(ctx, f, 0, o.dryRun)
			switch {
			case err == nil:
				if o.dryRun {
					remaining++
				}
				if o.output == "table" {
					if _, err := fmt.Fprintln(e.stdout, verb+render.Escape(f.Path)); err != nil {
						// Nothing more is removed that could not be reported.
						reportRemoved(e, rep)
						return exitError, err
					}
				}
				continue
			case errors.Is(err, fs.ErrNotExist):
				// Someone else removed it: not ours, but not remaining either.
				w := fmt.Sprintf("not removing %q: it went away since the scan", f.Path)
				warnings = append(warnings, w)
				e.warn("%s", w)
				continue
			}
			remaining++
			w := fmt.Sprintf("not removing %q: %v", f.Path, err)
			warnings = append(warnings, w)
			e.warn("%s", w)
		}
	}
	if err := staleOutput(ctx, o, e, rep, warnings, nil); err != nil {
		return exitError, err
	}
	if o.output == "table" && len(rep.Stale)+len(rep.Unknown)+len(rep.Unreachable) == 0 {
		e.note("no stale socket files in %s (%d entries checked)", strings.Join(rep.Dirs, ", "), rep.Entries)
	}
	// Only what --remove could act on fails the run: unreachable
	// listeners are --audit's to gate on (file-gone, file-replaced), and
	// files that may be stale are not proved so.
	if remaining > 0 {
		return exitNo, nil
	}
	return exitOK, nil
}

// staleSource is the source --stale judges files by: every network
// namespace udsls can read, as -N lists them, and the sockets of those it
// cannot name, since a socket bound and not listening in any of them
// refuses connects to its file as a stale file does.
//
// With --netns the files are that namespace's, but any namespace's socket
// may hold them (a shared volume): all are read, and the unreachable
// listeners shown are the named namespace's (netns, its inode).
func staleSource(o *options) (src inspect.Source, netns uint64, err error) {
	if runtime.GOOS != "linux" || len(o.from) > 0 {
		src, err = newSource(o)
		return src, 0, err
	}
	if err := netnsUsage(o); err != nil {
		return nil, 0, err
	}
	if netns, err = staleNetns(o); err != nil {
		return nil, 0, err
	}
	src, err = platform.Default(platform.Options{ProcRoot: o.procRoot, Source: o.source, AllNetns: true, Exhaustive: true, FDSource: o.fdSource, Kept: o.sharedKept()})
	return src, netns, err
}

// staleNetns is the inode of the namespace whose unreachable listeners a
// stale search shows: the one --netns names, else ours, as before --netns.
func staleNetns(o *options) (uint64, error) {
	if runtime.GOOS != "linux" || len(o.from) > 0 {
		return 0, nil
	}
	if o.netns != "" {
		return platform.NetnsInode(netnsOptions(o))
	}
	fi, err := os.Stat(platform.NetnsFile(netnsOptions(o)))
	if err != nil {
		return 0, nil
	}
	return inodeOf(fi), nil
}

// staleOutput prints the results, then returns failed: a run stopped
// half-way still reports what it removed.
func staleOutput(ctx context.Context, o *options, e *env, rep *inspect.StaleReport, warnings []string, failed error) error {
	var err error
	switch {
	case o.output == "json":
		err = render.WriteStaleJSON(e.stdout, rep, warnings)
	case o.output == "prometheus":
		m := render.NewMetrics()
		m.AddStale(rep)
		err = writeOutput(o, e, m.Write)
	case o.remove:
		// The removals were printed as they happened.
		if len(rep.Unreachable) > 0 || len(rep.Unknown) > 0 {
			err = render.WriteStaleTable(e.stdout, &inspect.StaleReport{Unknown: rep.Unknown, Unreachable: rep.Unreachable}, time.Now(), e.color)
		}
	default:
		err = render.WriteStaleTable(e.stdout, rep, time.Now(), e.color)
	}
	if err != nil && (o.output != "table" || !o.remove) {
		// A table's removals were printed, or reported, as they happened.
		reportRemoved(e, rep)
	}
	if failed != nil {
		return failed
	}
	return err
}

// reportRemoved names on stderr the files removed, when the output that
// should have listed them failed: a deletion is never left unreported.
func reportRemoved(e *env, rep *inspect.StaleReport) {
	for i := range rep.Stale {
		if rep.Stale[i].Removed {
			e.warn("removed %s, but the output listing it could not be written", render.Escape(rep.Stale[i].Path))
		}
	}
}

// progressLine draws a progress line on stderr while a long walk runs, if
// stderr is a terminal and -q did not ask for silence; the returned func
// erases it.
func progressLine(e *env) (func(files, dirs int), func()) {
	if !e.stderr.tty || e.quiet {
		return nil, func() {}
	}
	start := time.Now()
	var last time.Time
	drawn := false
	draw := func(files, dirs int) {
		now := time.Now()
		if now.Sub(start) < 250*time.Millisecond || now.Sub(last) < 100*time.Millisecond {
			return
		}
		last, drawn = now, true
		e.stderr.progress(fmt.Sprintf("scanning: %d entries in %d directories", files, dirs))
	}
	erase := func() {
		if drawn {
			e.stderr.erase()
		}
	}
	return draw, erase
}
