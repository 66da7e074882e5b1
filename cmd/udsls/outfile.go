package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/udsls/udsls/internal/errpath"
)

// writeOutput sends a rendering to --output-file when one is given, else
// to stdout.
func writeOutput(o *options, e *env, render func(io.Writer) error) error {
	if e.out == nil {
		return render(e.stdout)
	}
	if err := e.out.commit(render); err != nil {
		return fmt.Errorf("--output-file %q: %w", o.outputFile, err)
	}
	return nil
}

// outFile replaces a regular file with what a run renders, or leaves it
// untouched: node_exporter's textfile collector may read at any moment and
// must never see half a file. The temporary file is made when the run
// starts, so that an unwritable directory is an error before any work
// (--stale --remove must not delete files it then cannot report), in the
// same directory, so the rename cannot cross filesystems, and with a name
// that does not end in .prom, so the collector ignores it.
type outFile struct {
	ctx  context.Context
	path string
	tmp  *os.File // nil once committed or discarded
}

// openOutputFile checks that path may be replaced and makes the
// temporary file beside it.
func openOutputFile(ctx context.Context, path string) (*outFile, error) {
	if err := replaceable(path); err != nil {
		return nil, fmt.Errorf("--output-file %q: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("--output-file %q: cannot create a file in %q: %w", path, filepath.Dir(path), errpath.Strip(err))
	}
	pendingTemp.Store(tmp.Name())
	return &outFile{ctx: ctx, path: path, tmp: tmp}, nil
}

// pendingTemp is the name of the temporary file not yet renamed or
// removed, for a forced exit to remove.
var pendingTemp atomic.Value

// removeTemp removes pendingTemp, before a forced exit.
func removeTemp() {
	if name, ok := pendingTemp.Swap("").(string); ok && name != "" {
		os.Remove(name)
	}
}

// replaceable says why path must not be replaced by a rename: only a
// regular file, or nothing, may be. A rename over a device, a FIFO or a
// socket would silently swap it for a regular file (`--output-file
// /dev/full`), and over a symlink it would replace the link, not the file
// it points to (`/dev/stdout`); a symlink is refused rather than followed,
// so that the file replaced is always the one named.
func replaceable(path string) error {
	if strings.HasSuffix(path, "/") {
		return errors.New("names a directory; give a file name")
	}
	fi, err := os.Lstat(path)
	if err != nil {
		// Most often the directory is what is wrong: name it.
		dir := filepath.Dir(path)
		if d, derr := os.Stat(dir); derr != nil {
			return fmt.Errorf("directory %q: %w", dir, errpath.Strip(derr))
		} else if !d.IsDir() {
			return fmt.Errorf("%q is not a directory", dir)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return errpath.Strip(err)
	}
	switch t := fi.Mode().Type(); {
	case t == 0:
		return nil
	case t&fs.ModeDir != 0:
		return errors.New("is a directory; give a file name")
	case t&fs.ModeSymlink != 0:
		return errors.New("is a symbolic link; udsls replaces only a regular file, so give the file it points to")
	case t&fs.ModeCharDevice != 0:
		return errors.New("is a character device, not a regular file; udsls replaces only a regular file")
	case t&fs.ModeDevice != 0:
		return errors.New("is a block device, not a regular file; udsls replaces only a regular file")
	case t&fs.ModeNamedPipe != 0:
		return errors.New("is a FIFO, not a regular file; udsls replaces only a regular file")
	case t&fs.ModeSocket != 0:
		return errors.New("is a socket, not a regular file; udsls replaces only a regular file")
	}
	return errors.New("is not a regular file; udsls replaces only a regular file")
}

// commit writes what render makes and renames it over the path, unless
// the run was interrupted: an interrupted run leaves the old file.
func (f *outFile) commit(render func(io.Writer) error) (err error) {
	if f.tmp == nil {
		return errors.New("written twice") // a bug, not a user's error
	}
	defer func() {
		if err != nil {
			f.discard()
		}
	}()
	w := bufio.NewWriter(f.tmp)
	if err := render(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	mode := os.FileMode(0o644) // the collector often runs as another user
	if fi, err := os.Lstat(f.path); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := f.tmp.Chmod(mode); err != nil {
		return err
	}
	if err := f.tmp.Sync(); err != nil {
		return err
	}
	if err := f.ctx.Err(); err != nil {
		return err
	}
	// The path was checked when the run started; whatever was put there
	// since is checked again, as close to the rename as can be.
	if err := replaceable(f.path); err != nil {
		return err
	}
	// A forced exit may remove the temporary file now: then the rename
	// fails, or it comes after the rename and finds nothing. Either way
	// the path holds a whole file.
	tmp := f.tmp
	f.tmp = nil
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	pendingTemp.Store("")
	// Make the rename itself durable; a directory that cannot be synced
	// (some filesystems refuse) still holds the complete file.
	if d, err := os.Open(filepath.Dir(f.path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// discard removes the temporary file, if it is still there.
func (f *outFile) discard() {
	if f.tmp == nil {
		return
	}
	f.tmp.Close()
	os.Remove(f.tmp.Name())
	pendingTemp.Store("")
	f.tmp = nil
}
