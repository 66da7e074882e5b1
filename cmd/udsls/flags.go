package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Exit statuses, as ripgrep and grep use them.
const (
	exitOK    = 0 // found, healthy, nothing stale
	exitNo    = 1 // a valid answer that is "no"
	exitError = 2 // usage or operational error
)

type mode int

const (
	modeList mode = iota
	modeServe
	modeStale
	modeCheck
	modeAudit
)

type options struct {
	mode mode
	args []string

	// Shared by every mode.
	output     string // table, json, prometheus
	outputFile string
	color      string
	procRoot   string
	source     string
	fdSource   string
	verbose    bool
	// verboseOut is stderr with --verbose.
	verboseOut *stderr
	from       []string
	allNetns   bool
	netns      string
	help       bool
	version    bool

	// Listing.
	all       bool
	listening bool
	pids      []int
	users     []string
	types     []string
	peers     bool
	wide      bool
	extended  bool

	// --serve.
	serveFor time.Duration
	count    int

	// --stale.
	remove   bool
	dryRun   bool
	crossFS  bool
	maxDepth int

	// --check.
	timeout     time.Duration
	wait        time.Duration
	expectMode  string
	expectOwner string
	expectGroup string
	expectType  string
	quiet       bool

	// --audit.
	failOn string
}

// modeFlags names the flags that belong to one mode, so that a flag given
// without its mode is a usage error rather than silently ignored.
var modeFlags = map[string]mode{
	"all": modeList, "listening": modeList, "pid": modeList, "user": modeList,
	"type": modeList, "peers": modeList, "wide": modeList, "extended": modeList,
	"for": modeServe, "count": modeServe,
	"remove": modeStale, "dry-run": modeStale, "cross-fs": modeStale, "max-depth": modeStale,
	"timeout": modeCheck, "wait": modeCheck, "expect-mode": modeCheck, "expect-owner": modeCheck,
	"expect-group": modeCheck, "expect-type": modeCheck,
	"fail-on": modeAudit,
}

// sourceFlags say where sockets come from; they mean nothing to modes that
// take no snapshot, or that act on this machine's files (a capture's
// paths are another machine's).
var sourceFlags = map[string][]mode{
	"from":      {modeList},
	"source":    {modeList, modeStale, modeCheck, modeAudit},
	"fd-source": {modeList, modeStale, modeCheck, modeAudit},
	"verbose":   {modeList, modeStale, modeCheck, modeAudit},
	"all-netns": {modeList, modeStale},
	"netns":     {modeList, modeStale, modeCheck},
}

// sourceWhy explains the refusals of sourceFlags that are not obvious.
var sourceWhy = map[string]string{
	"all-netns " + modeNames[modeCheck]: "; name one namespace with --netns",
	"all-netns " + modeNames[modeAudit]: ", which judges paths in this machine's file system",
	"netns " + modeNames[modeAudit]:     ", which judges paths in this machine's file system",
}

// exclusive are the pairs of flags that contradict each other in any mode.
var exclusive = []struct{ a, b, why string }{
	{"all", "listening", "--all and --listening exclude each other"},
	{"all-netns", "netns", "--all-netns and --netns exclude each other"},
	{"from", "source", "--source picks the live backend; it does not apply to --from captures"},
	{"from", "all-netns", "--all-netns reads the live system; it does not apply to --from captures"},
	{"from", "netns", "--netns reads the live system; it does not apply to --from captures"},
}

// requires are the boolean flags that mean nothing without another.
var requires = []struct{ flag, needs string }{
	{"dry-run", "remove"},
}

var modeNames = map[mode]string{
	modeList: "the listing", modeServe: "--serve", modeStale: "--stale",
	modeCheck: "--check", modeAudit: "--audit",
}

// errUsage marks errors that deserve the "see --help" hint.
var errUsage = errors.New("usage")

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Unwrap() error { return errUsage }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := pflag.NewFlagSet("udsls", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false

	var serve, stale, check, audit bool
	fs.BoolVar(&serve, "serve", false, "")
	fs.BoolVar(&stale, "stale", false, "")
	fs.BoolVar(&check, "check", false, "")
	fs.BoolVar(&audit, "audit", false, "")

	fs.StringVarP(&o.output, "output", "o", "table", "")
	fs.StringVar(&o.outputFile, "output-file", "", "")
	fs.StringVar(&o.color, "color", "auto", "")
	fs.StringVar(&o.procRoot, "proc-root", "/proc", "")
	fs.StringVar(&o.source, "source", "", "")
	fs.StringVar(&o.fdSource, "fd-source", "auto", "")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "")
	fs.StringArrayVar(&o.from, "from", nil, "")
	fs.BoolVarP(&o.allNetns, "all-netns", "N", false, "")
	fs.StringVar(&o.netns, "netns", "", "")
	fs.BoolVarP(&o.help, "help", "h", false, "")
	fs.BoolVar(&o.version, "version", false, "")

	fs.BoolVarP(&o.all, "all", "a", false, "")
	fs.BoolVarP(&o.listening, "listening", "l", false, "")
	var pids []string
	fs.StringSliceVarP(&pids, "pid", "p", nil, "")
	fs.StringSliceVarP(&o.users, "user", "u", nil, "")
	fs.StringSliceVarP(&o.types, "type", "t", nil, "")
	fs.BoolVar(&o.peers, "peers", false, "")
	fs.BoolVarP(&o.wide, "wide", "W", false, "")
	fs.BoolVarP(&o.extended, "extended", "e", false, "")

	fs.DurationVar(&o.serveFor, "for", 0, "")
	fs.IntVar(&o.count, "count", 0, "")

	fs.BoolVar(&o.remove, "remove", false, "")
	fs.BoolVar(&o.dryRun, "dry-run", false, "")
	fs.BoolVar(&o.crossFS, "cross-fs", false, "")
	fs.IntVar(&o.maxDepth, "max-depth", 16, "")

	fs.DurationVar(&o.timeout, "timeout", time.Second, "")
	fs.DurationVar(&o.wait, "wait", 0, "")
	fs.StringVar(&o.expectMode, "expect-mode", "", "")
	fs.StringVar(&o.expectOwner, "expect-owner", "", "")
	fs.StringVar(&o.expectGroup, "expect-group", "", "")
	fs.StringVar(&o.expectType, "expect-type", "", "")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "")

	fs.StringVar(&o.failOn, "fail-on", "high", "")

	if err := fs.Parse(args); err != nil {
		return nil, usagef("%v", err)
	}
	// An empty value, say from an unset variable (--type "$T"), would read
	// as the flag not given: a listing of everything, an expectation not
	// checked.
	var empty string
	fs.Visit(func(f *pflag.Flag) {
		v, ok := f.Value.(pflag.SliceValue)
		if empty == "" && ((ok && len(v.GetSlice()) == 0) || (!ok && f.Value.String() == "")) {
			empty = f.Name
		}
	})
	if empty != "" {
		return nil, usagef("--%s needs a value", empty)
	}
	if slices.Contains(o.users, "") {
		return nil, usagef("--user: empty user name in %q", strings.Join(o.users, ","))
	}
	// A split value loses what was typed: "1,,2" would read as --pid "".
	if slices.Contains(pids, "") {
		return nil, usagef("--pid: empty process id in %q", strings.Join(pids, ","))
	}
	for _, p := range pids {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			return nil, usagef("invalid --pid %q: want a positive process id", p)
		}
		o.pids = append(o.pids, n)
	}
	o.args = fs.Args()
	if o.help || o.version {
		return o, nil
	}

	n := 0
	for _, m := range []struct {
		on bool
		m  mode
	}{{serve, modeServe}, {stale, modeStale}, {check, modeCheck}, {audit, modeAudit}} {
		if m.on {
			n++
			o.mode = m.m
		}
	}
	if n > 1 {
		return nil, usagef("--serve, --stale, --check and --audit are separate modes; give one at a time")
	}
	var err error
	fs.Visit(func(f *pflag.Flag) {
		if ms, ok := sourceFlags[f.Name]; ok && !slices.Contains(ms, o.mode) && err == nil {
			err = usagef("--%s does not apply to %s%s", f.Name, modeNames[o.mode], sourceWhy[f.Name+" "+modeNames[o.mode]])
		}
		if m, ok := modeFlags[f.Name]; ok && m != o.mode && err == nil {
			if m == modeList {
				err = usagef("--%s applies to the listing, not to %s", f.Name, modeNames[o.mode])
			} else {
				err = usagef("--%s requires %s", f.Name, modeNames[m])
			}
		}
	})
	if err != nil {
		return nil, err
	}
	// A boolean given as false (-a=false) is as good as not given.
	set := func(name string) bool {
		f := fs.Lookup(name)
		return f.Changed && f.Value.String() != "false"
	}
	for _, x := range exclusive {
		if set(x.a) && set(x.b) {
			return nil, usagef("%s", x.why)
		}
	}
	for _, r := range requires {
		if set(r.flag) && !set(r.needs) {
			return nil, usagef("--%s goes with --%s", r.flag, r.needs)
		}
	}
	// `udsls --check "$SOCK"` with SOCK unset checked the working
	// directory and said "not a socket" of a nameless path.
	if o.mode == modeCheck && slices.Contains(o.args, "") {
		return nil, usagef(`--check: the path "" is empty (an unset variable?)`)
	}
	switch o.output {
	case "table", "json":
	case "prometheus":
		if o.mode == modeServe || o.mode == modeAudit {
			return nil, usagef("-o prometheus is not available for %s", modeNames[o.mode])
		}
	default:
		return nil, usagef("unknown output format %q (want table, json or prometheus)", o.output)
	}
	if o.outputFile != "" && o.output != "prometheus" {
		return nil, usagef("--output-file goes with -o prometheus")
	}
	switch o.color {
	case "auto", "always", "never":
	default:
		return nil, usagef("unknown --color %q (want auto, always or never)", o.color)
	}
	switch o.source {
	case "", "netlink", "procfs":
	default:
		return nil, usagef("unknown --source %q (want netlink or procfs)", o.source)
	}
	switch o.fdSource {
	case "auto", "bpf", "procfs":
	default:
		return nil, usagef("unknown --fd-source %q (want auto, bpf or procfs)", o.fdSource)
	}
	return o, nil
}
