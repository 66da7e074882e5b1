package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeOutput sends a rendering to --output-file when one is given, else
// to stdout.
func writeOutput(o *options, e *env, render func(io.Writer) error) error {
	if o.outputFile == "" {
		return render(e.stdout)
	}
	if err := writeFileAtomic(o.outputFile, render); err != nil {
		return fmt.Errorf("--output-file %q: %w", o.outputFile, err)
	}
	return nil
}

// writeFileAtomic replaces path with what render writes, or leaves it
// untouched: node_exporter's textfile collector may read at any moment and
// must never see half a file. The temporary file lives in the same
// directory, so the rename cannot cross filesystems, and its name does not
// end in .prom, so the collector ignores it.
func writeFileAtomic(path string, render func(io.Writer) error) (err error) {
	mode := os.FileMode(0o644) // the collector often runs as another user
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriter(f)
	if err := render(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	// Make the rename itself durable; a directory that cannot be synced
	// (some filesystems refuse) still holds the complete file.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
