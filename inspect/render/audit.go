package render

import (
	"io"
	"unicode/utf8"

	"github.com/udsls/udsls/inspect"
)

// AuditJSON is the document `udsls --audit -o json` prints. Like the
// listing's, its fields are added, never renamed or removed.
type AuditJSON struct {
	Findings []FindingJSON `json:"findings"`
	Warnings []string      `json:"warnings"`
}

// FindingJSON is one finding.
type FindingJSON struct {
	Path string `json:"path"`
	// PathBytes carries the exact path when it is not valid UTF-8.
	PathBytes []byte           `json:"path_bytes,omitempty"`
	Severity  inspect.Severity `json:"severity"`
	Rule      string           `json:"rule"`
	Detail    string           `json:"detail"`
	Fix       string           `json:"fix"`
	Holders   []ProcessJSON    `json:"holders"`
	Reach     []AccessJSON     `json:"reach,omitempty"`
	// Netns, NetnsProcesses and SharedWith are abstract-reachable's: the
	// socket's network namespace, how many processes are in it, and those
	// of others by user and container.
	Netns          *uint64          `json:"netns,omitempty"`
	NetnsProcesses *int             `json:"netns_processes,omitempty"`
	SharedWith     []NetnsShareJSON `json:"shared_with,omitempty"`
}

// NetnsShareJSON is the processes of one user, in one container or none,
// that share an abstract socket's network namespace.
type NetnsShareJSON struct {
	UID       uint32         `json:"uid"`
	User      string         `json:"user"`
	UserBytes []byte         `json:"user_bytes,omitempty"`
	Container *ContainerJSON `json:"container"`
	Processes int            `json:"processes"`
}

// AccessJSON is one class of users' reach.
type AccessJSON struct {
	Who            string `json:"who"`
	Class          string `json:"class"`
	Server         bool   `json:"server"`
	Connect        *bool  `json:"connect,omitempty"`
	ConnectBecause string `json:"connect_because,omitempty"`
	Replace        bool   `json:"replace"`
	ReplaceBecause string `json:"replace_because"`
}

// WriteAuditJSON prints a report as one JSON document.
func WriteAuditJSON(w io.Writer, r *inspect.AuditReport) error {
	doc := AuditJSON{Findings: make([]FindingJSON, 0, len(r.Findings)), Warnings: r.Warnings}
	if doc.Warnings == nil {
		doc.Warnings = []string{}
	}
	for _, f := range r.Findings {
		j := FindingJSON{Path: f.Path, Severity: f.Severity, Rule: f.Rule, Detail: f.Detail, Fix: f.Fix, Holders: processesJSON(f.Holders)}
		for _, r := range f.Reach {
			j.Reach = append(j.Reach, AccessJSON(r))
		}
		if !utf8.ValidString(f.Path) {
			j.PathBytes = []byte(f.Path)
		}
		if f.Rule == inspect.RuleAbstractReachable {
			netns, n := f.Netns, f.NetnsProcesses
			j.Netns, j.NetnsProcesses = &netns, &n
			for _, s := range f.SharedWith {
				sj := NetnsShareJSON{UID: s.UID, User: s.User, UserBytes: exactBytes(s.User), Processes: s.Processes}
				if c := s.Container; c != nil {
					sj.Container = &ContainerJSON{ID: c.ID, Runtime: c.Runtime}
				}
				j.SharedWith = append(j.SharedWith, sj)
			}
		}
		doc.Findings = append(doc.Findings, j)
	}
	return EncodeJSON(w, doc, true, true)
}

// WriteAuditTable prints a report as a table, nothing when there are no
// findings. Paths, names and the details that quote them pass through
// Escape.
func WriteAuditTable(w io.Writer, r *inspect.AuditReport, color bool) error {
	if len(r.Findings) == 0 {
		return nil
	}
	t := NewTable(w, []string{"SEVERITY", "RULE", "PATH", "PID/COMMAND", "USER", "DETAIL", "FIX"}, color)
	for _, f := range r.Findings {
		sev := f.Severity.String()
		if color && f.Severity == inspect.SeverityHigh {
			sev = ansiRed + sev + ansiReset
		} else if color && f.Severity == inspect.SeverityMedium {
			sev = ansiYellow + sev + ansiReset
		}
		pids, users, _ := holderCells(f.Holders)
		if err := t.Append([]string{sev, f.Rule, Escape(f.Path), pids, users, Escape(f.Detail), Escape(f.Fix)}); err != nil {
			return err
		}
	}
	return t.Render()
}
