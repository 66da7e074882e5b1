package render

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/testserver"
)

// readmeSection is README's "## " section whose title starts with title,
// its "### " subsections included.
func readmeSection(t *testing.T, readme, title string) string {
	t.Helper()
	i := strings.Index(readme, "\n## "+title)
	if i < 0 {
		t.Fatalf("README has no section %q", title)
	}
	s := readme[i+1:]
	if j := strings.Index(s[3:], "\n## "); j >= 0 {
		s = s[:j+3]
	}
	return s
}

// jsonNames are the JSON field names of struct type ty.
func jsonNames(ty reflect.Type) []string {
	var names []string
	for i := range ty.NumField() {
		name, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// TestReadmeDocumentsJSON: every field the JSON writers emit is named in
// the README section that documents that output, and every field README's
// listing table names is one SocketJSON emits. A field added without a
// word in README, or a table row for a field that is not there, fails.
func TestReadmeDocumentsJSON(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, c := range []struct {
		section string
		types   []any
	}{
		{"JSON output", []any{ListingJSON{}, SocketJSON{}, TrafficJSON{}, ProcessJSON{}, FileJSON{}, ContainerJSON{}, PeerJSON{}}},
		{"Live view", []any{WatchJSON{}}},
		{"Who connects", []any{ConnectJSON{}, ServerJSON{}}},
		{"Who can reach what", []any{AuditJSON{}, FindingJSON{}, NetnsShareJSON{}, AccessJSON{}}},
		{"Health checks", []any{ChecksJSON{}, CheckJSON{}, inspect.Mismatch{}}},
		{"Stale socket files", []any{StaleReportJSON{}, StaleFileJSON{}}},
		{"Test server", []any{testserver.Manifest{}, testserver.Socket{}}},
	} {
		sec := readmeSection(t, readme, c.section)
		for _, v := range c.types {
			ty := reflect.TypeOf(v)
			for _, name := range jsonNames(ty) {
				// `name`, "name" in {"a", "name"}, or `a[].name`.
				re := regexp.MustCompile("[`\"\\.]" + regexp.QuoteMeta(name) + "[`\"]")
				if !re.MatchString(sec) {
					t.Errorf("README section %q does not name %s's JSON field %q", c.section, ty.Name(), name)
				}
			}
		}
	}
	// The listing's table: its first column names fields, which must be.
	emitted := map[string]bool{}
	for _, v := range []any{ListingJSON{}, SocketJSON{}, TrafficJSON{}, ProcessJSON{}, FileJSON{}, ContainerJSON{}, PeerJSON{}} {
		for _, name := range jsonNames(reflect.TypeOf(v)) {
			emitted[name] = true
		}
	}
	sec := readmeSection(t, readme, "JSON output")
	for _, m := range regexp.MustCompile("(?m)^\\| (`[^|]*`) \\|").FindAllStringSubmatch(sec, -1) {
		for _, f := range regexp.MustCompile("`([^`]*)`").FindAllStringSubmatch(m[1], -1) {
			name := f[1][strings.LastIndex(f[1], ".")+1:]
			if name != "field" && !emitted[name] {
				t.Errorf("README's JSON table documents %q, which no listing JSON type emits", f[1])
			}
		}
	}
}
