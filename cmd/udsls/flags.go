package main

import (
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/containers"
	"github.com/udsls/udsls/platform/linux"
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
	modeWatch
	modeTrace
	modeDump
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
	completion string // --completion: the shell whose script to print
	man        bool

	// Listing.
	all       bool
	listening bool
	pids      []int
	users     []string
	units     []string
	types     []string
	peers     bool
	wide      bool
	extended  bool

	// The exporter: the listing served over HTTP.
	metricsListen      string
	metricsStale       []string
	metricsCheck       []string
	metricsMinInterval time.Duration

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

	// Containers: the listing and --audit.
	containers   []string
	dockerSocket string
	podmanSocket string
	// namer names containers; nil until a resolver is made.
	namer *containers.Namer
	// --watch.
	interval time.Duration

	// --dump.
	dumpTarget string
	writeFile  string
	maxBytes   int

	// kept is what the sources of a run that keeps things loaded share:
	// one BPF iterator for the exporter's listing and its --metrics-stale.
	kept *linux.Kept

	// parsed holds what flags say before parseFlags makes sense of it.
	parsed struct {
		serve, stale, check, audit, watch, trace bool
		pids                                     []string
		dump                                     string
	}
}

// kind is the type of a flag's value, as pflag parses it.
type kind int

const (
	kindBool        kind = iota
	kindString           // one value
	kindStrings          // comma-separated, repeatable
	kindStringArray      // repeatable, never split (paths may hold commas)
	kindInt
	kindDuration
)

// section is a block of the help text. A section owned by a mode holds
// that mode's flags: giving one without the mode is a usage error.
type section struct {
	title string
	owner mode
	owned bool
	// column is where descriptions start in --help, when not helpColumn.
	column int
	// alsoFor is a mode whose flags these are too: the listing's filters
	// shape a watch.
	alsoFor []mode
}

var (
	secModes   = &section{} // --serve, --stale …: named in the Usage lines
	secList    = &section{title: "Listing", owner: modeList, owned: true, alsoFor: []mode{modeWatch}}
	secOutput  = &section{title: "Output"}
	secSources = &section{title: "Sources"}
	secCtr     = &section{title: "Containers (the listing, --watch, --audit)", column: 28}
	secStale   = &section{title: "Stale files (--stale)", owner: modeStale, owned: true}
	secCheck   = &section{title: "Health checks (--check)", owner: modeCheck, owned: true, column: 31}
	secAudit   = &section{title: "Audit (--audit)", owner: modeAudit, owned: true}
	secServe   = &section{title: "Test server (--serve)", owner: modeServe, owned: true}
	// The exporter serves the listing: its filters apply.
	secMetrics = &section{title: "Prometheus exporter (--metrics-listen)", owner: modeList, owned: true, column: 33}
	secWatch   = &section{title: "Live view (--watch)", owner: modeWatch, owned: true}
	secDump    = &section{title: "Dump (--dump)", owner: modeDump, owned: true}
	secMisc    = &section{} // --help, --version: untitled, last
)

// sections is the order of the help text.
var sections = []*section{secList, secOutput, secSources, secCtr, secStale, secCheck, secAudit, secServe, secWatch, secDump, secMetrics, secMisc}

// flagSpec is one flag: how it parses, how --help shows it and which
// modes it goes with. Parsing, the mode checks and the help text are all
// made from flagTable, so they cannot disagree.
type flagSpec struct {
	name, short string
	kind        kind
	def         string // default, as typed on the command line; "" for the zero value
	arg         string // placeholder for the value in --help
	help        string // lines after the first are indented under it
	sec         *section
	// modes limits a flag of an unowned section; nil means every mode. For
	// a flag of an owned section it names the other modes it goes with.
	modes []mode
	// why explains a refusal by modes that is not obvious.
	why map[mode]string
	// needs names a flag without which this one means nothing.
	needs string
	ptr   func(*options) any
	// values are the words the value may be, offered by shell completion;
	// one ending in ':' is a prefix the rest of the value, a path, follows.
	values []string
	// paths says that the value, or a mode's arguments, names files or
	// directories, for shell completion.
	paths pathKind
	// listNeeds names the exporter flag that gives this flag of another
	// mode its meaning in the listing: --metrics-stale walks as --stale.
	listNeeds string
}

// pathKind is what shell completion offers for a value or an argument.
type pathKind int

const (
	pathNone pathKind = iota
	pathFiles
	pathDirs
)

// snapshotModes are the modes that take a snapshot of this machine's sockets.
var snapshotModes = []mode{modeList, modeStale, modeCheck, modeAudit, modeWatch}

// ctrModes are the modes that name containers.
var ctrModes = []mode{modeList, modeAudit, modeWatch}

// fsWhy is why a namespace flag has no place in --audit.
const fsWhy = ", which judges paths in this machine's file system"

var flagTable = []flagSpec{
	{name: "serve", kind: kindBool, sec: secModes, paths: pathDirs, ptr: func(o *options) any { return &o.parsed.serve }},
	{name: "stale", kind: kindBool, sec: secModes, paths: pathDirs, ptr: func(o *options) any { return &o.parsed.stale }},
	{name: "check", kind: kindBool, sec: secModes, paths: pathFiles, ptr: func(o *options) any { return &o.parsed.check }},
	{name: "audit", kind: kindBool, sec: secModes, paths: pathFiles, ptr: func(o *options) any { return &o.parsed.audit }},
	{name: "watch", kind: kindBool, sec: secModes, ptr: func(o *options) any { return &o.parsed.watch }},
	{name: "trace", kind: kindBool, sec: secModes, ptr: func(o *options) any { return &o.parsed.trace }},
	{name: "dump", kind: kindString, arg: "TARGET", sec: secModes, ptr: func(o *options) any { return &o.parsed.dump }},

	{name: "all", short: "a", kind: kindBool, sec: secList, help: "every socket: also connections, clients, socketpairs", ptr: func(o *options) any { return &o.all }},
	{name: "listening", short: "l", kind: kindBool, sec: secList, help: "listeners only", ptr: func(o *options) any { return &o.listening }},
	{name: "pid", short: "p", kind: kindStrings, arg: "PID", sec: secList, modes: []mode{modeTrace}, help: "held by this process (repeatable, or comma-separated);\n--trace: connects made by this process", ptr: func(o *options) any { return &o.parsed.pids }},
	{name: "user", short: "u", kind: kindStrings, arg: "USER", sec: secList, modes: []mode{modeTrace}, help: "held by a process of this user (name or uid);\n--trace: connects made by a process of this user", ptr: func(o *options) any { return &o.users }},
	{name: "type", short: "t", kind: kindStrings, arg: "TYPE", sec: secList, help: "stream, dgram or seqpacket", ptr: func(o *options) any { return &o.types },
		values: []string{"stream", "dgram", "seqpacket"}},
	{name: "peers", kind: kindBool, sec: secList, help: "show who is on the other end (a listener's clients)", ptr: func(o *options) any { return &o.peers }},
	{name: "extended", short: "e", kind: kindBool, sec: secList, help: "add INODE and PEER-INODE (to pair connections)", ptr: func(o *options) any { return &o.extended }},
	{name: "wide", short: "W", kind: kindBool, sec: secList, help: "never narrow the table to the terminal's width", ptr: func(o *options) any { return &o.wide }},
	{name: "unit", kind: kindStrings, arg: "NAME", sec: secList, modes: []mode{modeAudit}, help: "held by a process of this systemd unit (glob; a bare\nNAME is NAME.service; also with --audit)", ptr: func(o *options) any { return &o.units }},

	{name: "output", short: "o", kind: kindString, def: "table", arg: "FORMAT", sec: secOutput, help: "table (default), json, or prometheus", ptr: func(o *options) any { return &o.output },
		values: []string{"table", "json", "prometheus"}},
	{name: "output-file", kind: kindString, arg: "PATH", sec: secOutput, help: "-o prometheus to PATH, atomically (textfile)", ptr: func(o *options) any { return &o.outputFile },
		paths: pathFiles},
	{name: "color", kind: kindString, def: "auto", arg: "WHEN", sec: secOutput, help: "auto (default), always, never; NO_COLOR is honoured", ptr: func(o *options) any { return &o.color },
		values: []string{"auto", "always", "never"}},
	{name: "quiet", short: "q", kind: kindBool, sec: secOutput, help: "no warnings or notes on stderr, except events lost\nby --trace and --dump; --check prints nothing", ptr: func(o *options) any { return &o.quiet }},

	{name: "source", kind: kindString, arg: "NAME", sec: secSources, modes: snapshotModes, help: "Linux: netlink (default, with fallback) or procfs", ptr: func(o *options) any { return &o.source },
		values: []string{"netlink", "procfs"}},
	{name: "fd-source", kind: kindString, def: "auto", arg: "NAME", sec: secSources, modes: snapshotModes,
		help: "Linux: how holders are found: auto (default), bpf\n(an iterator, needs CAP_BPF+CAP_PERFMON) or procfs", ptr: func(o *options) any { return &o.fdSource },
		values: []string{"auto", "bpf", "procfs"}},
	{name: "verbose", short: "v", kind: kindBool, sec: secSources, modes: snapshotModes, help: "say on stderr which sources were used", ptr: func(o *options) any { return &o.verbose }},
	// A capture's paths are another machine's: only the listing reads one.
	{name: "from", kind: kindStringArray, arg: "KIND:FILE", sec: secSources, modes: []mode{modeList},
		help: "analyse a saved capture: lsof:FILE, netstat:FILE, or\nprocnet:FILE (a copy of /proc/net/unix); repeatable", ptr: func(o *options) any { return &o.from },
		values: []string{"lsof:", "netstat:", "procnet:"}, paths: pathFiles},
	{name: "all-netns", short: "N", kind: kindBool, sec: secSources, modes: []mode{modeList, modeStale, modeWatch},
		why:  map[mode]string{modeCheck: "; name one namespace with --netns", modeAudit: fsWhy},
		help: "every network namespace (containers)", ptr: func(o *options) any { return &o.allNetns }},
	{name: "netns", kind: kindString, arg: "PID|PATH", sec: secSources, modes: []mode{modeList, modeStale, modeCheck, modeWatch},
		why:  map[mode]string{modeAudit: fsWhy},
		help: "one network namespace", ptr: func(o *options) any { return &o.netns }, paths: pathFiles},
	{name: "proc-root", kind: kindString, def: "/proc", arg: "DIR", sec: secSources, help: "procfs to read (default /proc), e.g. /host/proc", ptr: func(o *options) any { return &o.procRoot }, paths: pathDirs},

	{name: "container", kind: kindStrings, arg: "NAME|ID", sec: secCtr, modes: ctrModes,
		help: "held in this container: name glob, id or id prefix", ptr: func(o *options) any { return &o.containers }},
	{name: "docker-socket", kind: kindString, def: "/var/run/docker.sock", arg: "PATH", sec: secCtr, modes: ctrModes,
		help: "Docker API (default /var/run/docker.sock)", ptr: func(o *options) any { return &o.dockerSocket }},
	{name: "podman-socket", kind: kindString, def: "/run/podman/podman.sock", arg: "PATH", sec: secCtr, modes: ctrModes,
		help: "Podman API (default /run/podman/podman.sock)", ptr: func(o *options) any { return &o.podmanSocket }},

	{name: "remove", kind: kindBool, sec: secStale, help: "delete the stale files found (re-checked right before)", ptr: func(o *options) any { return &o.remove }},
	{name: "dry-run", kind: kindBool, sec: secStale, needs: "remove", help: "with --remove: say what would be removed", ptr: func(o *options) any { return &o.dryRun }},
	{name: "cross-fs", kind: kindBool, sec: secStale, help: "descend into other filesystems", ptr: func(o *options) any { return &o.crossFS }},
	{name: "max-depth", kind: kindInt, def: "16", arg: "N", sec: secStale, modes: []mode{modeList}, listNeeds: "metrics-stale",
		help: "how deep to walk (default 16); also --metrics-stale", ptr: func(o *options) any { return &o.maxDepth }},

	{name: "timeout", kind: kindDuration, def: "1s", arg: "DUR", sec: secCheck, modes: []mode{modeList}, listNeeds: "metrics-check",
		help: "bound each connect (default 1s);\nalso --metrics-check", ptr: func(o *options) any { return &o.timeout }},
	{name: "wait", kind: kindDuration, arg: "DUR", sec: secCheck, help: "retry until healthy or DUR has passed", ptr: func(o *options) any { return &o.wait }},
	{name: "expect-mode", kind: kindString, arg: "MODE", sec: secCheck, help: "e.g. 0660", ptr: func(o *options) any { return &o.expectMode }},
	{name: "expect-owner", kind: kindString, arg: "USER", sec: secCheck, help: "name or uid", ptr: func(o *options) any { return &o.expectOwner }},
	{name: "expect-group", kind: kindString, arg: "GROUP", sec: secCheck, help: "name or gid", ptr: func(o *options) any { return &o.expectGroup }},
	{name: "expect-type", kind: kindString, arg: "TYPE", sec: secCheck, help: "stream, dgram or seqpacket", ptr: func(o *options) any { return &o.expectType },
		values: []string{"stream", "dgram", "seqpacket"}},

	{name: "fail-on", kind: kindString, def: "high", arg: "SEVERITY", sec: secAudit, help: "exit 1 at or above: low, medium, high (default)", ptr: func(o *options) any { return &o.failOn },
		values: []string{"low", "medium", "high"}},

	{name: "for", kind: kindDuration, arg: "DUR", sec: secServe, modes: []mode{modeWatch, modeTrace, modeDump}, help: "stop after DUR (default: until interrupted);\nalso ends --watch, --trace and --dump", ptr: func(o *options) any { return &o.serveFor }},
	{name: "count", kind: kindInt, arg: "N", sec: secServe, help: "open N more listener+connection sets", ptr: func(o *options) any { return &o.count }},

	{name: "write", short: "w", kind: kindString, arg: "FILE", sec: secDump, help: "write pcap to FILE (- for stdout), not the hex view", ptr: func(o *options) any { return &o.writeFile }},
	{name: "max-bytes", kind: kindInt, def: "4096", arg: "N", sec: secDump, help: "bytes kept of each message (default 4096)", ptr: func(o *options) any { return &o.maxBytes }},

	{name: "metrics-listen", kind: kindString, arg: "ADDR", sec: secMetrics,
		help: "serve /metrics on ADDR, [HOST][:PORT]:\nloopback and port 9772 unless given", ptr: func(o *options) any { return &o.metricsListen }},
	{name: "metrics-stale", kind: kindStringArray, arg: "DIR", sec: secMetrics, needs: "metrics-listen", help: "add --stale's series for DIR (repeatable)", ptr: func(o *options) any { return &o.metricsStale }},
	{name: "metrics-check", kind: kindStringArray, arg: "PATH", sec: secMetrics, needs: "metrics-listen", help: "add --check's series for PATH (repeatable)", ptr: func(o *options) any { return &o.metricsCheck }},
	{name: "metrics-min-interval", kind: kindDuration, def: "5s", arg: "DUR", sec: secMetrics, needs: "metrics-listen",
		help: "reuse a snapshot younger than DUR (default 5s)", ptr: func(o *options) any { return &o.metricsMinInterval }},
	{name: "interval", kind: kindDuration, def: "1s", arg: "DUR", sec: secWatch, help: "refresh every DUR (default 1s); --for DUR ends it", ptr: func(o *options) any { return &o.interval }},

	{name: "help", short: "h", kind: kindBool, sec: secMisc, help: "show this help", ptr: func(o *options) any { return &o.help }},
	{name: "version", kind: kindBool, sec: secMisc, help: "print the version", ptr: func(o *options) any { return &o.version }},
	{name: "completion", kind: kindString, arg: "SHELL", sec: secMisc, help: "print a completion script: bash, zsh or fish", ptr: func(o *options) any { return &o.completion },
		values: shells},
	{name: "man", kind: kindBool, sec: secMisc, help: "print this help as a man page (roff)", ptr: func(o *options) any { return &o.man }},
}

// exclusive are the pairs of flags that contradict each other in any mode.
var exclusive = []struct{ a, b, why string }{
	{"all", "listening", "--all and --listening exclude each other"},
	{"all-netns", "netns", "--all-netns and --netns exclude each other"},
	{"from", "source", "--source picks the live backend; it does not apply to --from captures"},
	{"from", "all-netns", "--all-netns reads the live system; it does not apply to --from captures"},
	{"from", "netns", "--netns reads the live system; it does not apply to --from captures"},
	{"from", "metrics-listen", "--metrics-listen serves the live system; it does not apply to --from captures"},
	{"metrics-listen", "output", "--metrics-listen serves the Prometheus format; -o does not apply"},
	{"metrics-listen", "output-file", "--metrics-listen serves over HTTP; --output-file does not apply"},
	// The exporter's per-path series are of listeners, whatever the view,
	// and no table is drawn: these would be taken and ignored.
	{"metrics-listen", "all", "--metrics-listen serves series of listeners; --all does not apply"},
	{"metrics-listen", "listening", "--metrics-listen serves series of listeners; --listening does not apply"},
	{"metrics-listen", "peers", "--metrics-listen serves series, not a table; --peers does not apply"},
	{"metrics-listen", "extended", "--metrics-listen serves series, not a table; --extended does not apply"},
	{"metrics-listen", "wide", "--metrics-listen serves series, not a table; --wide does not apply"},
	{"from", "container", "--container names this machine's containers; it does not apply to --from captures"},
	{"from", "unit", "--unit reads the units of live processes; a --from capture has none"},
}

// newFlagSet registers every flag of flagTable, bound to o.
func newFlagSet(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("udsls", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	for _, f := range flagTable {
		// The help text comes from flagTable, not from pflag.
		switch p := f.ptr(o).(type) {
		case *bool:
			fs.BoolVarP(p, f.name, f.short, false, "")
		case *string:
			fs.StringVarP(p, f.name, f.short, "", "")
		case *[]string:
			if f.kind == kindStringArray {
				fs.StringArrayVarP(p, f.name, f.short, nil, "")
			} else {
				fs.StringSliceVarP(p, f.name, f.short, nil, "")
			}
		case *int:
			fs.IntVarP(p, f.name, f.short, 0, "")
		case *time.Duration:
			fs.DurationVarP(p, f.name, f.short, 0, "")
		default:
			panic(fmt.Sprintf("flag --%s: no flag type for %T", f.name, p))
		}
		if f.def != "" {
			// Value.Set, unlike FlagSet.Set, leaves the flag not Changed.
			pf := fs.Lookup(f.name)
			if err := pf.Value.Set(f.def); err != nil {
				panic(fmt.Sprintf("flag --%s: default %q: %v", f.name, f.def, err))
			}
			pf.DefValue = f.def
		}
	}
	return fs
}

// modeRefusal says why flag f, given, does not go with mode m, or "".
func (f *flagSpec) modeRefusal(m mode) string {
	switch {
	case f.sec.owned && (f.sec.owner == m || slices.Contains(f.sec.alsoFor, m) || slices.Contains(f.modes, m)),
		!f.sec.owned && (f.modes == nil || slices.Contains(f.modes, m)):
		return ""
	case !f.sec.owned:
		return fmt.Sprintf("--%s does not apply to %s%s", f.name, modeNames[m], f.why[m])
	case f.sec.owner == modeList:
		return fmt.Sprintf("--%s applies to the listing, not to %s", f.name, modeNames[m])
	default:
		// --for goes with four modes: naming one would send a user of
		// another to the wrong one.
		names := []string{modeNames[f.sec.owner]}
		for _, o := range f.modes {
			if o != modeList {
				names = append(names, modeNames[o])
			}
		}
		if n := len(names); n > 1 {
			return fmt.Sprintf("--%s requires %s or %s", f.name, strings.Join(names[:n-1], ", "), names[n-1])
		}
		return fmt.Sprintf("--%s requires %s", f.name, names[0])
	}
}

func lookupSpec(name string) *flagSpec {
	for i := range flagTable {
		if flagTable[i].name == name {
			return &flagTable[i]
		}
	}
	return nil
}

var modeNames = map[mode]string{
	modeList: "the listing", modeServe: "--serve", modeStale: "--stale",
	modeCheck: "--check", modeAudit: "--audit", modeWatch: "--watch", modeTrace: "--trace", modeDump: "--dump",
}

// errUsage marks errors that deserve the "see --help" hint.
var errUsage = errors.New("usage")

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Unwrap() error { return errUsage }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := newFlagSet(o)
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
	for _, u := range o.units {
		if u == "" {
			return nil, usagef("--unit: empty unit name in %q", strings.Join(o.units, ","))
		}
		if _, err := path.Match(u, ""); err != nil {
			return nil, usagef("--unit: bad pattern %q: %v; quote a glob for the shell", u, err)
		}
	}
	// A split value loses what was typed: "1,,2" would read as --pid "".
	if pids := o.parsed.pids; slices.Contains(pids, "") {
		return nil, usagef("--pid: empty process id in %q", strings.Join(pids, ","))
	}
	for _, c := range o.containers {
		if c == "" {
			return nil, usagef("--container: empty name in %q", strings.Join(o.containers, ","))
		}
		if err := inspect.ValidatePattern(c); err != nil {
			return nil, usagef("--container: %v", err)
		}
	}
	for _, p := range o.parsed.pids {
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
	if o.completion != "" || o.man {
		// Packaging runs these to make files: a typo must not make an empty one.
		if o.completion != "" && !slices.Contains(shells, o.completion) {
			return nil, usagef("unknown --completion shell %q (want bash, zsh or fish)", o.completion)
		}
		if o.completion != "" && o.man {
			return nil, usagef("--completion and --man exclude each other")
		}
		if len(o.args) > 0 {
			return nil, usagef("unexpected argument %q: --completion and --man print a file", o.args[0])
		}
		return o, nil
	}

	n := 0
	for _, m := range []struct {
		on bool
		m  mode
	}{{o.parsed.serve, modeServe}, {o.parsed.stale, modeStale}, {o.parsed.check, modeCheck}, {o.parsed.audit, modeAudit}, {o.parsed.watch, modeWatch}, {o.parsed.trace, modeTrace}, {o.parsed.dump != "", modeDump}} {
		if m.on {
			n++
			o.mode = m.m
		}
	}
	if n > 1 {
		return nil, usagef("--serve, --stale, --check, --audit, --watch, --trace and --dump are separate modes; give one at a time")
	}
	var err error
	fs.Visit(func(f *pflag.Flag) {
		if msg := lookupSpec(f.Name).modeRefusal(o.mode); msg != "" && err == nil {
			err = usagef("%s", msg)
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
	for _, f := range flagTable {
		if f.needs != "" && set(f.name) && !set(f.needs) {
			return nil, usagef("--%s goes with --%s", f.name, f.needs)
		}
		if f.listNeeds != "" && o.mode == modeList && set(f.name) && !set(f.listNeeds) {
			return nil, usagef("--%s goes with %s or --%s", f.name, modeNames[f.sec.owner], f.listNeeds)
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
		if o.mode == modeServe || o.mode == modeAudit || o.mode == modeWatch || o.mode == modeTrace || o.mode == modeDump {
			return nil, usagef("-o prometheus is not available for %s", modeNames[o.mode])
		}
	default:
		return nil, usagef("unknown output format %q (want table, json or prometheus)", o.output)
	}
	if o.outputFile != "" && o.output != "prometheus" {
		return nil, usagef("--output-file goes with -o prometheus")
	}
	if o.mode == modeWatch {
		if o.interval <= 0 {
			return nil, usagef("--interval must be positive, got %v", o.interval)
		}
		if o.serveFor < 0 {
			return nil, usagef("--for must not be negative, got %v", o.serveFor)
		}
	}
	if o.mode == modeDump {
		o.dumpTarget = o.parsed.dump
		if o.output != "table" {
			return nil, usagef("-o %s is not available for --dump (-w FILE writes pcap)", o.output)
		}
		if len(o.args) > 0 {
			return nil, usagef("--dump takes one TARGET; %q is one too many", o.args[0])
		}
		if o.maxBytes < 0 || o.maxBytes > maxDumpBytes {
			return nil, usagef("invalid --max-bytes %d: want 0 to %d", o.maxBytes, maxDumpBytes)
		}
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
