package render

import (
	"io"
	"strings"
	"unicode/utf8"

	"github.com/udsls/udsls/inspect"
)

// WriteChecks prints one line per result: the path (with its symlink
// target), the verdict, and the reason.
func WriteChecks(w io.Writer, results []inspect.CheckResult, color bool) error {
	var b strings.Builder
	for i := range results {
		r := &results[i]
		b.WriteString(Escape(r.Path))
		if r.Target != "" {
			b.WriteString(" -> " + Escape(r.Target))
		}
		v := string(r.Verdict)
		if r.Verdict == inspect.VerdictNotSocket {
			v = "not a socket"
		}
		if color {
			c := ansiRed
			if r.Healthy() {
				c = ansiGreen
			}
			v = c + v + ansiReset
		}
		// The reason may quote an OS error, which embeds raw paths.
		b.WriteString(": " + v + ": " + EscapeText(r.Reason()) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ChecksJSON is the document `udsls --check -o json` prints.
type ChecksJSON struct {
	Checks   []CheckJSON `json:"checks"`
	Warnings []string    `json:"warnings"`
}

// CheckJSON is the verdict on one path. File fields are those of the file
// a client reaches (a symlink's target) and null when there is none.
type CheckJSON struct {
	Path      string          `json:"path"`
	PathBytes []byte          `json:"path_bytes,omitempty"`
	Healthy   bool            `json:"healthy"`
	Verdict   inspect.Verdict `json:"verdict"`
	Reason    string          `json:"reason"`
	Type      *inspect.Type   `json:"type"`
	// Target is the resolved symlink target; null when Path is no symlink.
	Target      *string            `json:"target"`
	TargetBytes []byte             `json:"target_bytes,omitempty"`
	Mode        *string            `json:"mode"`
	Owner       *string            `json:"owner"`
	Group       *string            `json:"group"`
	UID         *uint32            `json:"uid"`
	GID         *uint32            `json:"gid"`
	Mismatches  []inspect.Mismatch `json:"mismatches"`
	Processes   []ProcessJSON      `json:"processes"`
}

// CheckToJSON converts a result to its public form.
func CheckToJSON(r *inspect.CheckResult) CheckJSON {
	j := CheckJSON{
		Path:       r.Path,
		Healthy:    r.Healthy(),
		Verdict:    r.Verdict,
		Reason:     r.Reason(),
		Mismatches: r.Mismatches,
		Processes:  []ProcessJSON{},
	}
	if !utf8.ValidString(r.Path) {
		j.PathBytes = []byte(r.Path)
	}
	if r.Type != 0 {
		t := r.Type
		j.Type = &t
	}
	if r.Target != "" {
		t := r.Target
		j.Target = &t
		if !utf8.ValidString(t) {
			j.TargetBytes = []byte(t)
		}
	}
	if f := r.File; f != nil {
		mode, owner, group, uid, gid := inspect.OctalMode(f.Mode), f.Owner, f.Group, f.UID, f.GID
		j.Mode, j.Owner, j.Group, j.UID, j.GID = &mode, &owner, &group, &uid, &gid
	}
	if j.Mismatches == nil {
		j.Mismatches = []inspect.Mismatch{}
	}
	if r.Entry != nil {
		j.Processes = processesJSON(r.Entry.Holders)
	}
	return j
}

// WriteChecksJSON prints the results as one JSON document.
func WriteChecksJSON(w io.Writer, results []inspect.CheckResult, warnings []string) error {
	doc := ChecksJSON{Checks: make([]CheckJSON, 0, len(results)), Warnings: warnings}
	if doc.Warnings == nil {
		doc.Warnings = []string{}
	}
	for i := range results {
		doc.Checks = append(doc.Checks, CheckToJSON(&results[i]))
	}
	return EncodeJSON(w, doc, true, true)
}
