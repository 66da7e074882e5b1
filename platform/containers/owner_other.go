//go:build !unix

package containers

// socketOwner cannot tell owners here: user cgroups are Linux's.
func socketOwner(string) (uint32, bool) { return 0, false }
