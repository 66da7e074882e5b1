package main

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

var (
	helpLong  = regexp.MustCompile(`(?:^|[\s(\[])--([a-z][a-z-]*)`)
	helpShort = regexp.MustCompile(`(?:^|\s)-([A-Za-z])\b`)
	helpPair  = regexp.MustCompile(`(?m)^  -([A-Za-z]), --([a-z][a-z-]*)\b`)
)

// TestHelpMatchesFlags: --help names every flag pflag accepts, and accepts
// every flag --help names, with the same shorthand.
func TestHelpMatchesFlags(t *testing.T) {
	fs := newFlagSet(&options{})
	inHelp := map[string]bool{}
	for _, m := range helpLong.FindAllStringSubmatch(usage, -1) {
		inHelp[m[1]] = true
		if fs.Lookup(m[1]) == nil {
			t.Errorf("--help names --%s, which is not a flag", m[1])
		}
	}
	for _, m := range helpShort.FindAllStringSubmatch(usage, -1) {
		if fs.ShorthandLookup(m[1]) == nil {
			t.Errorf("--help names -%s, which is not a flag", m[1])
		}
	}
	pairs := map[string]string{}
	for _, m := range helpPair.FindAllStringSubmatch(usage, -1) {
		pairs[m[2]] = m[1]
		if f := fs.Lookup(m[2]); f != nil && f.Shorthand != m[1] {
			t.Errorf("--help says -%s, --%s; the flag's shorthand is %q", m[1], m[2], f.Shorthand)
		}
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if !inHelp[f.Name] {
			t.Errorf("flag --%s is missing from --help", f.Name)
		}
		if f.Shorthand != "" && pairs[f.Name] != f.Shorthand {
			t.Errorf("--help does not show -%s, --%s", f.Shorthand, f.Name)
		}
	})
}

// TestHelpDefaults: a flag's default is the one its help line states.
func TestHelpDefaults(t *testing.T) {
	for _, f := range flagTable {
		if f.def != "" && !strings.Contains(f.help, f.def) {
			t.Errorf("--%s defaults to %q, but its help says %q", f.name, f.def, f.help)
		}
		if f.sec != secModes && f.help == "" {
			t.Errorf("--%s has no help", f.name)
		}
	}
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.output != "table" || o.maxDepth != 16 || o.timeout.String() != "1s" || o.failOn != "high" || o.procRoot != "/proc" {
		t.Errorf("defaults not applied: %+v", o)
	}
}

// TestModeFlags: every flag given in every mode is refused exactly when
// the table says it does not go with that mode, with the table's reason.
func TestModeFlags(t *testing.T) {
	modeFlag := map[mode]string{modeServe: "--serve", modeStale: "--stale", modeCheck: "--check", modeAudit: "--audit",
		modeWatch: "--watch", modeTrace: "--trace", modeDump: "--dump=/run/x.sock"}
	for _, f := range flagTable {
		if f.sec == secModes || f.sec == secMisc {
			continue
		}
		for m := range modeNames {
			// A value each kind parses, so that the mode is what is judged.
			value := map[kind]string{kindBool: "true", kindDuration: "1s"}[f.kind]
			args := []string{"--" + f.name + "=" + cmp.Or(value, "1")}
			if mf, ok := modeFlag[m]; ok {
				args = append(args, mf)
			}
			_, err := parseFlags(args)
			want := f.modeRefusal(m)
			switch {
			case want != "" && (err == nil || err.Error() != want):
				t.Errorf("parseFlags(%q) = %v, want %q", args, err, want)
			case want == "" && err != nil && slices.ContainsFunc([]string{"does not apply", "requires --", "applies to the listing"}, func(s string) bool {
				return strings.Contains(err.Error(), s)
			}):
				t.Errorf("parseFlags(%q) = %v, want no mode refusal", args, err)
			}
		}
	}
}

// TestModeSeams: flags of one feature given with another's mode, as a user
// combines them. The wants are written out, not derived from flagTable, so
// that a row that makes a wrong decision fails here.
func TestModeSeams(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // "" accepted; else the whole error
	}{
		// The exporter walks and connects as --stale and --check do.
		{[]string{"--metrics-listen=:0", "--metrics-stale=/run", "--max-depth=3"}, ""},
		{[]string{"--metrics-listen=:0", "--metrics-check=/run/a.sock", "--timeout=2s"}, ""},
		{[]string{"--max-depth=3"}, "--max-depth goes with --stale or --metrics-stale"},
		{[]string{"--metrics-listen=:0", "--timeout=2s"}, "--timeout goes with --check or --metrics-check"},
		{[]string{"--stale", "--max-depth=3"}, ""},
		{[]string{"--check", "--timeout=2s", "/x"}, ""},
		{[]string{"--watch", "--max-depth=3"}, "--max-depth requires --stale"},
		{[]string{"--audit", "--timeout=2s"}, "--timeout requires --check"},
		// --for ends four modes; the refusal names them all.
		{[]string{"--for=1s"}, "--for requires --serve, --watch, --trace or --dump"},
		{[]string{"--metrics-listen=:0", "--for=1s"}, "--for requires --serve, --watch, --trace or --dump"},
		{[]string{"--watch", "--for=1s"}, ""},
		{[]string{"--trace", "--for=1s"}, ""},
		{[]string{"--dump=/x", "--for=1s"}, ""},
		// A watch is a listing over time: its filters and columns apply.
		{[]string{"--watch", "--unit=x"}, ""},
		{[]string{"--watch", "--container=x"}, ""},
		{[]string{"--watch", "--peers", "-e", "-W", "-N"}, ""},
		{[]string{"--watch", "-o", "json"}, ""},
		{[]string{"--watch", "-o", "prometheus"}, "-o prometheus is not available for --watch"},
		{[]string{"--watch", "--from=lsof:x"}, "--from does not apply to --watch"},
		// --trace filters by process, not by socket.
		{[]string{"--trace", "-p", "1", "-u", "root", "-o", "json"}, ""},
		{[]string{"--trace", "-N"}, "--all-netns does not apply to --trace"},
		{[]string{"--trace", "--unit=x"}, "--unit applies to the listing, not to --trace"},
		{[]string{"--trace", "--container=x"}, "--container does not apply to --trace"},
		{[]string{"--trace", "-o", "prometheus"}, "-o prometheus is not available for --trace"},
		{[]string{"--dump=/x", "-p", "1"}, "--pid applies to the listing, not to --dump"},
		{[]string{"--dump=/x", "-o", "json"}, "-o json is not available for --dump (-w FILE writes pcap)"},
		{[]string{"--metrics-listen=:0", "--unit=x", "--container=y", "-N"}, ""},
		{[]string{"--metrics-listen=:0", "-o", "prometheus"}, "--metrics-listen serves the Prometheus format; -o does not apply"},
		{[]string{"--metrics-listen=:0", "--stale"}, "--metrics-listen applies to the listing, not to --stale"},
		// The exporter draws no table and serves listeners whatever the view.
		{[]string{"--metrics-listen=:0", "-e"}, "--metrics-listen serves series, not a table; --extended does not apply"},
		{[]string{"--metrics-listen=:0", "-W"}, "--metrics-listen serves series, not a table; --wide does not apply"},
		{[]string{"--metrics-listen=:0", "--peers"}, "--metrics-listen serves series, not a table; --peers does not apply"},
		{[]string{"--metrics-listen=:0", "-a"}, "--metrics-listen serves series of listeners; --all does not apply"},
		{[]string{"--metrics-listen=:0", "-l"}, "--metrics-listen serves series of listeners; --listening does not apply"},
		{[]string{"--metrics-listen=:0", "-a=false", "-W=false"}, ""},
		{[]string{"-o", "prometheus", "-e", "-W", "--peers", "-a"}, ""},
		{[]string{"--stale", "--unit=x"}, "--unit applies to the listing, not to --stale"},
	} {
		_, err := parseFlags(c.args)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("parseFlags(%q) = %q, want %q", c.args, got, c.want)
		}
	}
	// -q and --color go with every mode.
	for _, m := range [][]string{nil, {"--serve"}, {"--stale"}, {"--check", "/x"}, {"--audit"}, {"--watch"}, {"--trace"}, {"--dump=/x"}, {"--metrics-listen=:0"}} {
		for _, f := range []string{"-q", "--color=always", "--color=never"} {
			if _, err := parseFlags(append([]string{f}, m...)); err != nil {
				t.Errorf("parseFlags(%q %q) = %v, want it accepted", f, m, err)
			}
		}
	}
}

// TestExporterFlags: every flag --metrics-listen takes changes what it
// serves or says; one it would take and ignore (-e, -W) is refused. The
// list is written out, so that a new listing flag is judged here.
func TestExporterFlags(t *testing.T) {
	used := []string{
		"pid", "user", "type", "unit", // filters: which listeners get series
		"quiet", "verbose", // what it says on stderr
		// --color goes with every mode, as -q does, so that an alias or a
		// service's ExecStart may carry it whatever the mode.
		"color",
		"source", "fd-source", "all-netns", "netns", "proc-root",
		"container", "docker-socket", "podman-socket",
		"max-depth", "timeout", // of --metrics-stale and --metrics-check
		"metrics-listen", "metrics-stale", "metrics-check", "metrics-min-interval",
	}
	for _, f := range flagTable {
		if f.sec == secModes || f.sec == secMisc {
			continue
		}
		value := map[kind]string{kindBool: "true", kindDuration: "1s"}[f.kind]
		if len(f.values) > 0 {
			value = f.values[0]
		}
		args := []string{"--metrics-listen=:0", "--metrics-stale=/x", "--metrics-check=/y", "--" + f.name + "=" + cmp.Or(value, "1")}
		_, err := parseFlags(args)
		if accepted := err == nil; accepted != slices.Contains(used, f.name) {
			t.Errorf("parseFlags(%q) = %v; the exporter uses --%s: %v", args, err, f.name, slices.Contains(used, f.name))
		}
	}
}

// TestHelpWidth: --help, and so the man page's option lines, fit 80 columns.
func TestHelpWidth(t *testing.T) {
	for l := range strings.Lines(usage) {
		if n := len([]rune(strings.TrimSuffix(l, "\n"))); n > 80 {
			t.Errorf("--help line of %d columns: %q", n, l)
		}
	}
}

// TestHelpNamesOtherModes: a listing flag that another mode takes says
// what it does there. The listing's words do not: "held by this process"
// read as the server's pid in --trace, where -p keeps a client's connects.
func TestHelpNamesOtherModes(t *testing.T) {
	for _, f := range flagTable {
		if f.sec != secList {
			continue
		}
		for _, m := range f.modes {
			if !strings.Contains(f.help, modeNames[m]) {
				t.Errorf("--%s goes with %s, but its help %q does not say what it does there", f.name, modeNames[m], f.help)
			}
		}
	}
}

// TestQuietHelp: -q's help names the modes that warn of lost events even
// with -q (a trace or dump with holes must say so): it said "no warnings".
func TestQuietHelp(t *testing.T) {
	help := lookupSpec("quiet").help
	for _, m := range []string{"--trace", "--dump"} {
		if !strings.Contains(help, m) {
			t.Errorf("-q's help %q does not say that %s still warns of lost events", help, m)
		}
	}
}

// TestSectionTitlesNameModes: a help section whose title names the modes
// its flags go with names each of them. --container filters --watch too,
// and the title said only "the listing, --audit".
func TestSectionTitlesNameModes(t *testing.T) {
	for _, f := range flagTable {
		if f.sec.owned || f.modes == nil || !strings.Contains(f.sec.title, "(") {
			continue
		}
		for _, m := range f.modes {
			if !strings.Contains(f.sec.title, modeNames[m]) {
				t.Errorf("--%s goes with %s, but its section %q does not say so", f.name, modeNames[m], f.sec.title)
			}
		}
	}
}
