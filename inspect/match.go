package inspect

// MatchName reports whether a socket name ("@" and the name when abstract)
// matches one of the patterns as the listing matches them: a glob against
// the whole name, or, for a pattern without a slash, against a path's last
// element. --trace matches the names connects ask for with it.
func MatchName(patterns []string, name string) bool { return matchAny(patterns, name) }
