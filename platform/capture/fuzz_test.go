package capture

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

func addCaptures(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join(capturesDir, pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no captures match %s: %v", pattern, err)
	}
	for _, file := range files {
		f.Add(readCapture(f, filepath.Base(file)))
	}
}

// FuzzParseLsofF feeds lsof's field and table parsers. Every failure must
// be ErrMalformed, and a success must hold only sound records.
func FuzzParseLsofF(f *testing.F) {
	addCaptures(f, "*lsof-*.txt")
	f.Add([]byte(macOSFields))
	f.Add([]byte(nulTerminated(macOSFields)))
	f.Add([]byte(nulTerminated(joinLsof)))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLsof(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		pids := map[int]bool{}
		for _, f := range l.Files {
			if f.PID <= 0 || f.FD < -1 || f.Line < 1 || f.Line > lines || !f.PeerKnown && f.Peer != 0 || f.Abstract && f.Path == "" {
				t.Errorf("unsound file %+v", f)
			}
			pids[f.PID] = true
		}
		for pid, p := range l.Processes {
			if p.PID != pid || !pids[pid] {
				t.Errorf("process %d: %+v holds no socket", pid, p)
			}
		}
		if snap := Join(nil, l); len(snap.Owners) > len(l.Files) || len(snap.Sockets) > len(l.Files) {
			t.Errorf("join made %d owners and %d sockets of %d files", len(snap.Owners), len(snap.Sockets), len(l.Files))
		}
	})
}

// FuzzParseNetstat feeds the netstat parser and the peer checks built on
// it; a reference list that loops must not hang them.
func FuzzParseNetstat(f *testing.F) {
	addCaptures(f, "*netstat-*.txt")
	f.Add([]byte(netstatTitle + header726 + "\n" + baseRow(NetstatRow{Address: 1, Type: 2, Refs: 1, Nextref: 1}) +
		" 1 2 3 4 Comet Helper:3300   00102 00000002 1a2b 00000040 00000000 1 0 0 /x y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ParseNetstat(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n"))
		last := 0
		for _, r := range rows {
			if r.Line <= last || r.Line > lines || r.Type == 0 || bytes.ContainsRune([]byte(r.Path), '\n') {
				t.Errorf("unsound row %+v after line %d", r, last)
			}
			last = r.Line
		}
		if socks, _ := NetstatSockets(rows); len(socks) > len(rows) {
			t.Errorf("%d sockets from %d rows", len(socks), len(rows))
		}
	})
}
