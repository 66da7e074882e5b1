package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/udsls/udsls/platform/testenv"
)

// contrib holds what operators copy: alert rules, a dashboard, a unit.
const contrib = "../../contrib"

// seriesNames are the names udsls can serve, read from the code that
// makes them, so that a renamed series breaks the rules that use it.
func seriesNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, f := range []string{"../../inspect/render/metrics.go", "exporter.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`"(udsls_[a-z_]+)"`).FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
	}
	if len(names) < 12 {
		t.Fatalf("found only %d series names: %v", len(names), names)
	}
	return names
}

func usesKnownSeries(t *testing.T, where, expr string, names map[string]bool) {
	t.Helper()
	for _, n := range regexp.MustCompile(`udsls_[a-z_]+`).FindAllString(expr, -1) {
		if !names[n] {
			t.Errorf("%s: %s is not a series udsls serves", where, n)
		}
	}
}

// TestContribAlerts runs the alert rules' own unit tests with promtool.
func TestContribAlerts(t *testing.T) {
	promtool := testenv.NeedTool(t, "promtool", "prometheus")
	rules := filepath.Join(contrib, "prometheus", "udsls-alerts.yml")
	for _, args := range [][]string{
		{"check", "rules", rules},
		{"test", "rules", filepath.Join(contrib, "prometheus", "udsls-alerts.test.yml")},
	} {
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	b, err := os.ReadFile(rules)
	if err != nil {
		t.Fatal(err)
	}
	usesKnownSeries(t, rules, string(b), seriesNames(t))
}

// TestContribDashboard: every query of the Grafana dashboard parses as
// PromQL (promtool checks it as a recording rule) and asks for series udsls
// serves.
func TestContribDashboard(t *testing.T) {
	promtool := testenv.NeedTool(t, "promtool", "prometheus")
	b, err := os.ReadFile(filepath.Join(contrib, "grafana", "udsls-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	names := seriesNames(t)
	rules := "groups:\n- name: dashboard\n  rules:\n"
	n := 0
	for _, p := range d.Panels {
		for _, q := range p.Targets {
			usesKnownSeries(t, p.Title, q.Expr, names)
			expr, _ := json.Marshal(strings.ReplaceAll(q.Expr, "$instance", ".*"))
			rules += fmt.Sprintf("  - record: dashboard:query%d\n    expr: %s\n", n, expr)
			n++
		}
	}
	if n < 10 {
		t.Fatalf("dashboard has %d queries", n)
	}
	f := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(f, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", f).CombinedOutput(); err != nil {
		t.Errorf("dashboard queries: %v\n%s", err, out)
	}
}

// TestContribUnit: systemd accepts the exporter's unit, and its ExecStart
// is a command line udsls accepts.
func TestContribUnit(t *testing.T) {
	analyze := testenv.NeedTool(t, "systemd-analyze", "systemd")
	b, err := os.ReadFile(filepath.Join(contrib, "systemd", "udsls-exporter.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ExecStart=/usr/bin/udsls (.*)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no ExecStart=/usr/bin/udsls line")
	}
	o, err := parseFlags(strings.Fields(string(m[1])))
	if err != nil || o.metricsListen == "" {
		t.Errorf("ExecStart: %v (metrics-listen %q)", err, o.metricsListen)
	}
	unit := filepath.Join(t.TempDir(), "udsls-exporter.service")
	fixed := strings.Replace(string(b), "/usr/bin/udsls", buildUdsls(t), 1)
	if err := os.WriteFile(unit, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	// --man=no: udsls(1) is installed by the package, not here.
	if out, err := exec.Command(analyze, "verify", "--man=no", unit).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
