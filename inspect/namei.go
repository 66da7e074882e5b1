package inspect

import (
	"errors"
	"io/fs"
	"path"
	"strings"
)

// maxSymlinks is the kernel's bound on symlinks followed in one lookup
// (MAXSYMLINKS, include/linux/namei.h).
const maxSymlinks = 40

var errLoop = errors.New("too many levels of symbolic links")

// namei looks paths up as the kernel does (path_lookupat, fs/namei.c),
// one component at a time through lstat and readlink: Resolver.ResolveIn
// and the audit's walk are both this lookup.
type namei struct {
	lstat    func(p string) (*FileInfo, error)
	readlink func(p string) (string, error)
	// w, when set, records the directories searched, the entries passed
	// and the symlinks followed, each directory with its file.
	w *walked
}

// resolve looks up absolute path p and returns what it names, symlinks
// resolved. ".." leaves the directory the lookup is in, a symlink's
// target when it came through one. A non-directory with anything after
// it (a trailing slash too) fails with ErrNotDir. The final component is
// followed only with followFinal; otherwise it is neither examined nor
// recorded.
func (n *namei) resolve(p string, followFinal bool) (walkedDir, error) {
	root := walkedDir{path: "/"}
	if n.w != nil {
		fi, err := n.lstat("/")
		if err != nil {
			return walkedDir{}, err
		}
		root.fi = fi
	}
	cur := root
	todo := strings.Split(p, "/")
	hops := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			// "." is looked up in cur, which the next component is too.
			continue
		case "..":
			n.search(cur)
			up := walkedDir{path: path.Dir(cur.path)} // the root's parent is the root
			if n.w != nil {
				fi, err := n.lstat(up.path)
				if err != nil {
					return walkedDir{}, err
				}
				up.fi = fi
			}
			cur = up
			continue
		}
		next := path.Join(cur.path, c)
		if len(todo) == 0 && !followFinal {
			return walkedDir{path: next}, nil
		}
		n.search(cur)
		fi, err := n.lstat(next)
		if err != nil {
			return walkedDir{}, err
		}
		if n.w != nil {
			n.w.entries = append(n.w.entries, walkEntry{cur, c, fi})
		}
		switch {
		case fi.Mode.Type() == fs.ModeSymlink:
			if hops++; hops > maxSymlinks {
				return walkedDir{}, &fs.PathError{Op: "resolve", Path: p, Err: errLoop}
			}
			target, err := n.readlink(next)
			if err != nil {
				return walkedDir{}, err
			}
			if n.w != nil {
				n.w.steps = append(n.w.steps, walkStep{dir: cur, link: fi, linkPath: next})
				n.w.links = append(n.w.links, next+" -> "+target)
			}
			if path.IsAbs(target) {
				cur = root
			}
			todo = append(strings.Split(target, "/"), todo...)
		case fi.Mode.IsDir() || len(todo) == 0:
			cur = walkedDir{next, fi}
		default:
			return walkedDir{}, &fs.PathError{Op: "resolve", Path: next, Err: ErrNotDir}
		}
	}
	return cur, nil
}

// search records that the lookup searches dir for a component.
func (n *namei) search(dir walkedDir) {
	if n.w != nil {
		n.w.steps = append(n.w.steps, walkStep{dir: dir})
	}
}
