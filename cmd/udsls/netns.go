package main

import (
	"context"
	"path"
	"runtime"
	"strings"
	"time"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform"
	"github.com/udsls/udsls/platform/containers"
	"github.com/udsls/udsls/platform/sys"
)

// netnsUsage rejects -N and --netns where they cannot apply.
func netnsUsage(o *options) error {
	if !o.allNetns && o.netns == "" {
		return nil
	}
	flag := "--netns"
	if o.allNetns {
		flag = "--all-netns"
	}
	// Which modes and flags they go with is parseFlags's to say.
	if runtime.GOOS != "linux" {
		return usagef("%s: network namespaces exist only on Linux", flag)
	}
	return nil
}

// newResolver is the resolver for the live sockets from src, labelling
// holders with their containers where the backend can tell them.
func newResolver(o *options, src inspect.Source) *inspect.Resolver {
	r := sys.NewResolver(o.procRoot)
	r.Container = containerFunc(o, src)
	if s, ok := liveSource(src).(interface {
		Service(pid int) *inspect.Service
	}); ok {
		r.Service = s.Service
	}
	return r
}

// liveSource is the backend under --verbose's wrapper, which would hide
// what it tells of holders and processes.
func liveSource(src inspect.Source) inspect.Source {
	if v, ok := src.(*verboseSource); ok {
		return v.Source
	}
	return src
}

// containerFunc tells the container a holder runs in, nil when the
// backend cannot. The listing and --audit show containers by name: the
// runtimes are asked only then, once, and only about containers a holder
// runs in.
func containerFunc(o *options, src inspect.Source) func(pid int) *inspect.Container {
	c, ok := liveSource(src).(interface {
		Container(pid int) *inspect.Container
	})
	if !ok {
		return nil
	}
	if o.mode != modeList && o.mode != modeAudit && o.mode != modeWatch {
		return c.Container
	}
	n := containers.NewNamer()
	n.DockerSocket, n.PodmanSocket = o.dockerSocket, o.podmanSocket
	o.namer = n
	return func(pid int) *inspect.Container {
		ctr := c.Container(pid)
		if ctr != nil {
			n.Fill(ctr)
		}
		return ctr
	}
}

// sayContainerCalls tells, with --verbose, what the container runtimes
// were asked.
func sayContainerCalls(o *options) {
	if o.verboseOut == nil || o.namer == nil {
		return
	}
	for _, c := range o.namer.Calls() {
		o.verboseOut.say("info", c)
	}
}

// netnsOptions names the namespace --netns names to platform.
func netnsOptions(o *options) platform.Options {
	return platform.Options{ProcRoot: o.procRoot, Netns: o.netns}
}

// checkInNetns points the checker at the namespace --netns names: a path
// is examined and probed as the namespace's processes see it (through
// /proc/PID/root), an abstract name is probed inside the namespace. It
// returns the paths to check and a func that puts the names as given back
// into the results.
func checkInNetns(o *options, c *inspect.Checker) ([]string, func([]inspect.CheckResult), error) {
	keep := func([]inspect.CheckResult) {}
	if err := netnsUsage(o); err != nil || o.netns == "" {
		return o.args, keep, err
	}
	// NetnsRoot alone takes any file, which only abstract names would then
	// find naming no namespace.
	if _, err := platform.NetnsInode(netnsOptions(o)); err != nil {
		return nil, keep, err
	}
	root, err := platform.NetnsRoot(netnsOptions(o), c.Resolver.MountRoot)
	if err != nil {
		return nil, keep, err
	}
	probe := c.Probe
	c.Probe = func(ctx context.Context, p string, timeout time.Duration) inspect.ProbeResult {
		// A file is reached by its path from any network namespace;
		// entering one needs CAP_SYS_ADMIN, so only abstract names do.
		if !strings.HasPrefix(p, "@") {
			return probe(ctx, p, timeout)
		}
		var res inspect.ProbeResult
		err := platform.InNetns(netnsOptions(o), func() error {
			res = probe(ctx, p, timeout)
			return nil
		})
		if err != nil {
			return inspect.ProbeResult{Reach: inspect.ReachError, Err: err}
		}
		return res
	}
	if root == "" {
		return o.args, keep, nil
	}
	paths := make([]string, len(o.args))
	targets := make([]string, len(o.args))
	for i, p := range o.args {
		if strings.HasPrefix(p, "@") {
			paths[i] = p
			continue
		}
		if !path.IsAbs(p) {
			return nil, keep, usagef("--check %q: a path in another mount namespace must be absolute", p)
		}
		// The kernel would resolve an absolute symlink under /proc/PID/root
		// against our root, so symlinks are resolved here, inside.
		at := path.Clean(p)
		if dir, err := c.Resolver.ResolveIn(root, path.Dir(p), true); err == nil {
			at = path.Join(dir, path.Base(p))
			if full, err := c.Resolver.ResolveIn(root, p, true); err == nil && full != at {
				targets[i], at = full, full
			}
		}
		paths[i] = root + at
	}
	return paths, func(rs []inspect.CheckResult) {
		for i := range rs {
			rs[i].Path = o.args[i]
			if targets[i] != "" {
				rs[i].Target = targets[i]
			}
		}
	}, nil
}

// staleRoot is StaleOptions.Root for --netns: the namespace's file tree
// when it is another mount namespace's.
func staleRoot(o *options) (string, error) {
	if err := netnsUsage(o); err != nil || o.netns == "" {
		return "", err
	}
	return platform.NetnsRoot(netnsOptions(o), sys.NewResolver(o.procRoot).MountRoot)
}
