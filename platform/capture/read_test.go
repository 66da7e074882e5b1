package capture

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestReadBoundedOnce: a regular capture is read into one buffer. Chunks
// joined at the end held every byte twice: 400 MiB for a 200 MiB file,
// near the 256 MiB limit.
func TestReadBoundedOnce(t *testing.T) {
	const size = 32 << 20
	want := bytes.Repeat([]byte("p123\nfcwd\n"), size/10)
	name := filepath.Join(t.TempDir(), "lsof.txt")
	if err := os.WriteFile(name, want, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := readBounded(context.Background(), f)
	runtime.ReadMemStats(&after)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("readBounded: %d bytes, %v; want the %d bytes written", len(got), err, len(want))
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > size*3/2 {
		t.Errorf("reading %d bytes allocated %d", len(want), n)
	}
}
