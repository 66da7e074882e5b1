package sys

import (
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

// stacks is what our mountinfo tells of the devices' stacking.
type stacks struct {
	plain map[uint64]bool
	// overlays are the overlays' super options, as mountinfo shows them.
	overlays map[uint64]string
	// roots are where our mountinfo shows each overlay's root directory.
	roots map[uint64][]string
	memo  map[uint64]inspect.Stack
	// others says other mount namespaces' plain filesystems are in plain.
	others bool
}

// maxStackDepth bounds overlays nested in overlays' layers; deeper ones
// (the kernel allows two) are not known for certain.
const maxStackDepth = 4

// unknownStack is a stacking filesystem whose layers are not known.
var unknownStack = inspect.Stack{Stacked: true}

func (s *stacks) stack(dev uint64, depth int) inspect.Stack {
	if unix.Major(dev) != 0 || s.plain[dev] {
		return inspect.Stack{}
	}
	if st, ok := s.memo[dev]; ok {
		return st
	}
	if _, ok := s.overlays[dev]; !ok {
		if s.addOtherMounts(); s.plain[dev] {
			return inspect.Stack{}
		}
	}
	// A cycle or a deep nest stays unknown.
	s.memo[dev] = unknownStack
	opts, ok := s.overlays[dev]
	if !ok || depth >= maxStackDepth {
		return unknownStack
	}
	st := s.layers(dev, opts, depth)
	s.memo[dev] = st
	return st
}

// layers finds the devices of an overlay's layers: each layer directory's
// st_dev, which is what lstat of a file there reports, and, for a layer
// on another overlay, that overlay's layers. The paths are as the mounter
// gave them, in its root and mount namespace and before any rename or
// mount since, so they may name other directories now. The upper one
// must be proven: a socket bound through the overlay has its file there,
// and unlinking a file through the overlay unlinks it there. A lower one
// that is not stays harmless: a socket bound in a lower directory is not
// reached through the overlay, and the overlay only hides a lower file.
func (s *stacks) layers(dev uint64, opts string, depth int) inspect.Stack {
	paths, ok := overlayLayers(opts)
	if !ok || !s.upperIsOurs(dev, opts) {
		return unknownStack
	}
	st := inspect.Stack{Stacked: true, Known: true}
	for _, p := range paths {
		var fi unix.Stat_t
		var fs unix.Statfs_t
		if unix.Stat(p, &fi) != nil || fi.Mode&unix.S_IFMT != unix.S_IFDIR || unix.Statfs(p, &fs) != nil {
			return unknownStack
		}
		// A subvolume below the layer directory shows its files on
		// a device of its own, which stat of the layer does not tell.
		if fs.Type == unix.BTRFS_SUPER_MAGIC || fs.Type == bcachefsMagic {
			return unknownStack
		}
		under := s.stack(fi.Dev, depth+1)
		if under.Stacked && !under.Known {
			return unknownStack
		}
		for _, d := range append([]uint64{fi.Dev}, under.Layers...) {
			if !slices.Contains(st.Layers, d) {
				st.Layers = append(st.Layers, d)
			}
		}
	}
	return st
}

const bcachefsMagic = 0xca451a4e

// upperIsOurs says the path the overlay at dev's options give for its
// upper directory, if any, is that directory: the overlay's root, where
// our mountinfo shows it and not mounted over, shows the upper
// directory's mode, owner, mtime and ctime (a directory made since has
// another ctime). A change between the two stats shows as a difference,
// and leaves the overlay unknown.
func (s *stacks) upperIsOurs(dev uint64, opts string) bool {
	upper, has := "", false
	for _, o := range strings.Split(opts, ",") {
		if name, val, _ := strings.Cut(o, "="); name == "upperdir" {
			upper, _ = unescapeOctal(val)
			has = true
		}
	}
	if !has {
		return true
	}
	var u unix.Stat_t
	if upper == "" || unix.Stat(upper, &u) != nil {
		return false
	}
	for _, root := range s.roots[dev] {
		var r unix.Stat_t
		if unix.Stat(root, &r) == nil && r.Dev == dev && r.Mode == u.Mode && r.Uid == u.Uid && r.Gid == u.Gid && r.Mtim == u.Mtim && r.Ctim == u.Ctim {
			return true
		}
	}
	return false
}

// overlayLayers reads the layer directories (upper, work, lower and
// data-only ones) from an overlay's super options as mountinfo shows
// them; !ok when any is in doubt. mountinfo escapes ',', '=', blanks and
// '\' in each option as octal; overlayfs itself shows each path as it was
// given, with its own '\' escapes (of ':' and ',') in some forms and not in
// others, and relative to the mounter's working directory if relative:
// any '\' left after mountinfo's, or a path not absolute and clean, is in
// doubt.
func overlayLayers(opts string) (paths []string, ok bool) {
	var lower, plus, upper, work int
	for _, o := range strings.Split(opts, ",") {
		name, val, _ := strings.Cut(o, "=")
		name, ok1 := unescapeOctal(name)
		val, ok2 := unescapeOctal(val)
		if !ok1 || !ok2 {
			return nil, false
		}
		var vals []string
		switch name {
		case "lowerdir":
			lower++
			// "::" leads on to data-only layers.
			vals = strings.Split(strings.Replace(val, "::", ":", 1), ":")
		case "lowerdir+", "datadir+":
			plus++
			vals = []string{val}
		case "upperdir":
			upper++
			vals = []string{val}
		case "workdir":
			work++
			vals = []string{val}
		case "redirect_dir":
			continue
		default:
			// Another kind of layer than those known.
			if strings.HasSuffix(name, "dir") || strings.HasSuffix(name, "dir+") {
				return nil, false
			}
			continue
		}
		for _, p := range vals {
			if !filepath.IsAbs(p) || filepath.Clean(p) != p || strings.Contains(p, `\`) {
				return nil, false
			}
			paths = append(paths, p)
		}
	}
	if (lower == 0) == (plus == 0) || lower > 1 || upper > 1 || work != upper {
		return nil, false
	}
	return paths, true
}

// unescapeOctal undoes mountinfo's escapes, \ and three octal digits.
func unescapeOctal(s string) (string, bool) {
	if !strings.Contains(s, `\`) {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+4 > len(s) {
			return "", false
		}
		v := 0
		for _, c := range []byte(s[i+1 : i+4]) {
			if c < '0' || c > '7' {
				return "", false
			}
			v = v*8 + int(c-'0')
		}
		if v > 0xff {
			return "", false
		}
		b.WriteByte(byte(v))
		i += 3
	}
	return b.String(), true
}
