package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
)

func listQuery(o *options) (inspect.Query, error) {
	patterns, err := patternArgs(o.args)
	q := inspect.Query{Patterns: patterns, PIDs: o.pids, Users: o.users, Units: o.units, Clients: o.peers, Containers: o.containers}
	if err != nil {
		return q, err
	}
	switch {
	case o.all:
		q.View = inspect.ViewAll
	case o.listening:
		q.View = inspect.ViewListening
	}
	if len(o.from) == 0 {
		for _, u := range o.users {
			if err := knownUser(u); err != nil {
				return q, usagef("--user: %v", err)
			}
		}
	}
	for _, s := range o.types {
		t, err := inspect.ParseType(s)
		if err != nil {
			return q, usagef("--type: %v", err)
		}
		q.Types = append(q.Types, t)
	}
	return q, nil
}

func runList(ctx context.Context, o *options, e *env) (int, error) {
	q, err := listQuery(o)
	if err != nil {
		return exitError, err
	}
	containerNetns(o)
	src, err := newSource(o)
	if err != nil {
		return exitError, err
	}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		return exitError, err
	}
	r := newResolver(o, src)
	if len(o.from) > 0 {
		r = inspect.NewCaptureResolver()
	}

	shown, orphans := 0, false
	warn := func() {
		for _, w := range snap.WarningsFor(orphans) {
			e.warn("%s", w)
		}
	}
	switch o.output {
	case "table":
		to := render.TableOptions{Color: e.color, Peers: o.peers, Extended: o.extended, Addresses: snap.Addresses}
		if !o.wide {
			to.Width = e.width
		}
		// The rows are laid out as the entries come, as -o json writes
		// them: only the cells are kept until the widths are known, not
		// the whole list of entries.
		tw := render.NewTableWriter(e.stdout, to)
		err = r.EachEntry(ctx, snap, q, func(en *inspect.Entry) error {
			shown++
			orphans = orphans || len(en.Holders) == 0
			tw.Write(en)
			return nil
		})
		if err != nil {
			return exitError, err
		}
		warn()
		if shown == 0 {
			break // stdout stays empty; explainEmpty says why on stderr
		}
		err = tw.Close()
	case "json":
		// Each entry is written as it is made: a large listing is never
		// held whole, and the output starts before the join ends.
		jw := render.NewJSONWriter(e.stdout)
		err = r.EachEntry(ctx, snap, q, func(en *inspect.Entry) error {
			shown++
			orphans = orphans || len(en.Holders) == 0
			return jw.Write(en)
		})
		if err == nil {
			err = jw.Close(snap.WarningsFor(orphans))
		}
		warn()
	case "prometheus":
		entries := r.Entries(ctx, snap, q)
		if err := ctx.Err(); err != nil {
			return exitError, err
		}
		shown, orphans = len(entries), anyOrphan(entries)
		warn()
		m := render.NewMetrics()
		m.AddListing(snap, entries)
		err = writeOutput(o, e, m.Write)
	}
	sayContainerCalls(o)
	if err != nil {
		return exitError, err
	}
	if shown == 0 {
		explainEmpty(o, e, q)
		if q.Filtered() {
			return exitNo, nil
		}
	}
	return exitOK, nil
}

// containerNetns makes a listing that names containers read every network
// namespace, unless --netns names one: a container's sockets are mostly in
// its own. The listing, -o prometheus, the exporter and --watch alike.
func containerNetns(o *options) {
	if len(o.containers) > 0 && o.netns == "" && runtime.GOOS == "linux" {
		o.allNetns = true
	}
}

// patternArgs turns arguments into globs: one that names an existing file is that file,
// literally (the shell expanded DIR/* onto names that may hold [ or *), any other is a glob.
func patternArgs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if _, err := os.Lstat(a); err == nil {
			out = append(out, globQuote.Replace(a))
			// A relative name also means the file's absolute path, the name most
			// sockets are bound by.
			if abs, err := filepath.Abs(a); err == nil && abs != a {
				out = append(out, globQuote.Replace(abs))
			}
			continue
		}
		if err := inspect.ValidatePattern(a); err != nil {
			return nil, usagef("%v; quote a glob for the shell, and escape a literal [ * ? or \\ with \\", err)
		}
		out = append(out, a)
	}
	return out, nil
}

var globQuote = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)

// knownUser accepts a uid or a name this machine's account database knows.
func knownUser(u string) error {
	if _, err := strconv.ParseUint(u, 10, 32); err == nil {
		return nil
	}
	if _, err := user.Lookup(u); err != nil {
		return fmt.Errorf("no user %q on this machine", u)
	}
	return nil
}

// explainEmpty says on stderr why a listing shows nothing: a pid that is no process, or
// one in another network namespace than the one listed.
func explainEmpty(o *options, e *env, q inspect.Query) {
	live := len(o.from) == 0 && runtime.GOOS == "linux"
	for _, pid := range q.PIDs {
		if !live {
			break
		}
		ns, err := os.Readlink(filepath.Join(o.procRoot, strconv.Itoa(pid), "ns/net"))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			e.note("no process %d", pid)
		case err != nil || o.allNetns || o.netns != "":
		default:
			if self, err := os.Readlink(filepath.Join(o.procRoot, "self/ns/net")); err == nil && self != ns {
				e.hint("process %d is in another network namespace; -N lists every namespace", pid)
			}
		}
	}
	switch {
	case len(q.PIDs) > 0 && q.View != inspect.ViewAll:
		e.note("no sockets match; -a also shows connections and socketpairs")
	case q.Filtered():
		e.note("no sockets match")
	case q.View == inspect.ViewAll:
		e.note("no Unix sockets")
	default:
		e.note("no listening or bound Unix sockets; -a shows every socket, 'udsls --serve' opens test sockets")
	}
}

// anyOrphan reports whether an entry shows no holder, which unreadable processes may explain.
func anyOrphan(entries []inspect.Entry) bool {
	for i := range entries {
		if len(entries[i].Holders) == 0 {
			return true
		}
	}
	return false
}
