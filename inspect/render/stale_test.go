package render

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/udsls/udsls/inspect"
)

func TestAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{42 * time.Second, "42s"},
		{7*time.Minute + 3*time.Second, "7m3s"},
		{5*time.Hour + 12*time.Minute + 59*time.Second, "5h12m"},
		{3*24*time.Hour + 4*time.Hour + time.Minute, "3d4h"},
		{400 * 24 * time.Hour, "400d0h"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := Age(tt.d); got != tt.want {
				t.Errorf("Age(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

func staleReportFixture() *inspect.StaleReport {
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	return &inspect.StaleReport{
		Stale: []inspect.StaleFile{
			{Path: "/tmp/a\nb.sock", File: inspect.FileInfo{UID: 1000, GID: 1000, Owner: "ann", Group: "ann", Mode: fs.ModeSocket | 0o755, ModTime: mtime}, Reason: inspect.ReasonNotBound},
			{Path: "/tmp/bad\xff.sock", File: inspect.FileInfo{UID: 0, Owner: "root", Mode: fs.ModeSocket | 0o600, ModTime: mtime}, Reason: inspect.ReasonOtherFile, Removed: true},
		},
		Unreachable: []inspect.Entry{{
			Socket:     inspect.Socket{ID: 7, Path: "/run/app.sock", Type: inspect.TypeStream, State: inspect.StateListening},
			Holders:    []inspect.Holder{{PID: 42, FD: 3, Command: "app", User: "root", Known: true}},
			FileStatus: inspect.FileGone,
		}},
	}
}

func TestWriteStaleJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteStaleJSON(&buf, staleReportFixture(), nil); err != nil {
		t.Fatal(err)
	}
	var got StaleReportJSON
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	gone := inspect.FileGone
	uid := uint32(0)
	zero := 0
	want := StaleReportJSON{
		Stale: []StaleFileJSON{
			{Path: "/tmp/a\nb.sock", UID: 1000, Owner: "ann", GID: 1000, Group: "ann", Mode: "0755", MTime: "2024-05-01T12:00:00Z", Reason: inspect.ReasonNotBound},
			{Path: "/tmp/bad\ufffd.sock", PathBytes: []byte("/tmp/bad\xff.sock"), Owner: "root", Mode: "0600", MTime: "2024-05-01T12:00:00Z", Reason: inspect.ReasonOtherFile, Removed: true},
		},
		Unknown: []StaleFileJSON{},
		Unreachable: []SocketJSON{{
			Path: "/run/app.sock", Type: inspect.TypeStream, State: inspect.StateListening, Inode: 7, ID: "0x7",
			Processes:  []ProcessJSON{{PID: 42, Command: "app", User: "root", UID: &uid, FD: 3}},
			FileStatus: &gone, Connections: &zero,
		}},
		Warnings: []string{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WriteStaleJSON (-want +got):\n%s", diff)
	}
}

func TestWriteStaleTable(t *testing.T) {
	now := time.Date(2024, 5, 2, 13, 30, 0, 0, time.UTC)
	var buf bytes.Buffer
	if err := WriteStaleTable(&buf, staleReportFixture(), now, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	var got [][]string
	for _, l := range lines {
		got = append(got, strings.Fields(l))
	}
	want := [][]string{
		{"PATH", "OWNER", "MODE", "AGE", "REASON"},
		append([]string{`/tmp/a\nb.sock`, "ann:ann", "0755", "1d1h"}, strings.Fields(inspect.ReasonNotBound)...),
		append([]string{`/tmp/bad\xff.sock`, "root:0", "0600", "1d1h"}, strings.Fields(inspect.ReasonOtherFile)...),
		{},
		{"UNREACHABLE", "TYPE", "STATE", "FILE", "PID/COMMAND"},
		{"/run/app.sock", "stream", "listening", "gone", "42/app"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WriteStaleTable (-want +got):\n%s", diff)
	}

	buf.Reset()
	if err := WriteStaleTable(&buf, &inspect.StaleReport{}, now, false); err != nil || buf.Len() != 0 {
		t.Errorf("empty report printed %q, %v; want nothing", buf.String(), err)
	}
}
