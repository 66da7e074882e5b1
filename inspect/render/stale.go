package render

import (
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/internal/text"
)

// The JSON types below are part of udsls's output contract (see
// json.go): fields are added, never renamed or removed.

// StaleReportJSON is the document `udsls --stale -o json` prints.
type StaleReportJSON struct {
	Stale []StaleFileJSON `json:"stale"`
	// Unknown are files that may be stale, which --remove leaves alone;
	// reason says why they could not be proved so.
	Unknown     []StaleFileJSON `json:"unknown"`
	Unreachable []SocketJSON    `json:"unreachable"`
	Warnings    []string        `json:"warnings"`
}

// StaleFileJSON is one stale socket file.
type StaleFileJSON struct {
	Path      string `json:"path"`
	PathBytes []byte `json:"path_bytes,omitempty"`
	UID       uint32 `json:"uid"`
	Owner     string `json:"owner"`
	GID       uint32 `json:"gid"`
	Group     string `json:"group"`
	Mode      string `json:"mode"`
	MTime     string `json:"mtime"` // RFC 3339
	Reason    string `json:"reason"`
	Removed   bool   `json:"removed"`
}

// WriteStaleJSON prints a report as one JSON document; warnings are all of
// the run's, removal warnings included.
func WriteStaleJSON(w io.Writer, r *inspect.StaleReport, warnings []string) error {
	doc := StaleReportJSON{
		Stale:       make([]StaleFileJSON, 0, len(r.Stale)),
		Unknown:     make([]StaleFileJSON, 0, len(r.Unknown)),
		Unreachable: make([]SocketJSON, 0, len(r.Unreachable)),
		Warnings:    warnings,
	}
	if doc.Warnings == nil {
		doc.Warnings = []string{}
	}
	file := func(f *inspect.StaleFile) StaleFileJSON {
		j := StaleFileJSON{
			Path: f.Path, UID: f.File.UID, Owner: f.File.Owner, GID: f.File.GID, Group: f.File.Group,
			Mode: inspect.OctalMode(f.File.Mode), MTime: f.File.ModTime.Format(time.RFC3339), Reason: f.Reason, Removed: f.Removed,
		}
		if !utf8.ValidString(f.Path) {
			j.PathBytes = []byte(f.Path)
		}
		return j
	}
	for i := range r.Stale {
		doc.Stale = append(doc.Stale, file(&r.Stale[i]))
	}
	for i := range r.Unknown {
		doc.Unknown = append(doc.Unknown, file(&r.Unknown[i]))
	}
	for i := range r.Unreachable {
		doc.Unreachable = append(doc.Unreachable, ToJSON(&r.Unreachable[i]))
	}
	return EncodeJSON(w, doc, true, true)
}

// WriteStaleTable prints the stale files, the files that may be stale
// (UNKNOWN), then the unreachable listeners, each as a table; nothing at
// all when all are empty. Ages are taken from now.
func WriteStaleTable(w io.Writer, r *inspect.StaleReport, now time.Time, color bool) error {
	tables := 0
	files := func(head string, fs []inspect.StaleFile) error {
		if len(fs) == 0 {
			return nil
		}
		if tables++; tables > 1 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		t := NewTable(w, []string{head, "OWNER", "MODE", "AGE", "REASON"}, color)
		for _, f := range fs {
			owner := text.NameOr(f.File.Owner, f.File.UID) + ":" + text.NameOr(f.File.Group, f.File.GID)
			if err := t.Append([]string{Escape(f.Path), owner, inspect.OctalMode(f.File.Mode), Age(now.Sub(f.File.ModTime)), f.Reason}); err != nil {
				return err
			}
		}
		return t.Render()
	}
	if err := files("PATH", r.Stale); err != nil {
		return err
	}
	if err := files("UNKNOWN", r.Unknown); err != nil {
		return err
	}
	if len(r.Unreachable) == 0 {
		return nil
	}
	if tables > 0 {
		if _, err := io.WriteString(w, "\n"); err != nil {
			return err
		}
	}
	t := NewTable(w, []string{"UNREACHABLE", "TYPE", "STATE", "FILE", "PID/COMMAND"}, color)
	for i := range r.Unreachable {
		e := &r.Unreachable[i]
		pids, _, _ := holderCells(e.Holders)
		if err := t.Append([]string{Escape(e.Path), e.Type.String(), e.State.String(), string(e.FileStatus), pids}); err != nil {
			return err
		}
	}
	return t.Render()
}

// Age renders a duration the way ps shows elapsed time, in its two
// largest units: 3d4h, 5h12m, 7m3s, 42s.
func Age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	days, h, m := s/86400, s/3600%24, s/60%60
	s %= 60
	f := strconv.FormatInt
	switch {
	case days > 0:
		return f(days, 10) + "d" + f(h, 10) + "h"
	case h > 0:
		return f(h, 10) + "h" + f(m, 10) + "m"
	case m > 0:
		return f(m, 10) + "m" + f(s, 10) + "s"
	}
	return f(s, 10) + "s"
}
