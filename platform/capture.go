package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/darwin"
	"github.com/udsls/udsls/platform/linux"
)

// captureKinds are the saved outputs --from reads.
var captureKinds = []string{"lsof", "netstat", "procnet"}

// FromCaptures returns a source that reads saved outputs, each spec being
// KIND:FILE with KIND one of:
//
//	lsof     lsof -U output, -F fields (NL or NUL) or the table (macOS or Linux)
//	netstat  macOS or FreeBSD netstat output with its unix section
//	procnet  a copy of Linux /proc/net/unix
//
// Captures of one moment combine: lsof with netstat (macOS, joined on
// kernel addresses) or lsof with procnet (Linux, joined on inodes, which
// lsof must then print). Each kind may appear once. The files are read and
// checked here, so a bad capture fails before any output.
func FromCaptures(specs []string) (inspect.Source, error) {
	files := map[string]string{}
	for _, spec := range specs {
		kind, file, ok := strings.Cut(spec, ":")
		if !ok || file == "" {
			return nil, fmt.Errorf("capture %q: want KIND:FILE with KIND one of %s", spec, strings.Join(captureKinds, ", "))
		}
		if !slices.Contains(captureKinds, kind) {
			return nil, fmt.Errorf("capture %q: unknown kind %q (want %s)", spec, kind, strings.Join(captureKinds, ", "))
		}
		if _, dup := files[kind]; dup {
			return nil, fmt.Errorf("capture %q: a second %s capture; give at most one of each kind", spec, kind)
		}
		files[kind] = file
	}
	if files["netstat"] != "" && files["procnet"] != "" {
		return nil, errors.New("captures: netstat (macOS) and procnet (Linux) cannot be combined")
	}
	if len(files) == 0 {
		return nil, errors.New("captures: none given")
	}

	var (
		socks    []inspect.Socket
		warnings []string
		lsof     *darwin.Lsof
	)
	for _, kind := range captureKinds {
		file, ok := files[kind]
		if !ok {
			continue
		}
		data, err := os.ReadFile(file)
		if err == nil {
			r := bytes.NewReader(data)
			switch kind {
			case "lsof":
				lsof, err = darwin.ParseLsof(r)
			case "netstat":
				var rows []darwin.NetstatRow
				rows, err = darwin.ParseNetstat(r)
				socks, warnings = darwin.NetstatSockets(rows)
			case "procnet":
				socks, err = linux.ParseProcNetUnix(r)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("capture %q: %w", kind+":"+file, err)
		}
	}
	if lsof != nil && len(lsof.Files) > 0 {
		switch {
		case files["procnet"] != "" && !lsof.Inodes:
			return nil, fmt.Errorf("capture %q: no socket inodes (the i field) to join with /proc/net/unix", "lsof:"+files["lsof"])
		case files["netstat"] != "" && lsof.Inodes:
			return nil, fmt.Errorf("capture %q: Linux lsof output cannot be joined with netstat", "lsof:"+files["lsof"])
		}
	}
	snap := darwin.Join(socks, lsof)
	snap.Backend = "capture"
	snap.Warnings = warnings
	snap.Addresses = files["procnet"] == "" && (lsof == nil || !lsof.Inodes)
	return &capture{snap: snap}, nil
}

// capture serves the snapshot read from the files.
type capture struct{ snap *inspect.Snapshot }

func (c *capture) Snapshot(context.Context) (*inspect.Snapshot, error) {
	s := *c.snap
	s.Sockets = slices.Clone(s.Sockets)
	s.Owners = slices.Clone(s.Owners)
	s.Warnings = slices.Clone(s.Warnings)
	s.Processes = maps.Clone(s.Processes)
	return &s, nil
}
