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
	modeFlag := map[mode]string{modeServe: "--serve", modeStale: "--stale", modeCheck: "--check", modeAudit: "--audit"}
	for _, f := range flagTable {
		if f.sec == secModes || f.sec == secMisc {
			continue
		}
		for _, m := range []mode{modeList, modeServe, modeStale, modeCheck, modeAudit} {
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
