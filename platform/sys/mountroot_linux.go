package sys

import "golang.org/x/sys/unix"

// isMountRoot reports whether p (not followed) is the root of a mount:
// rename(2) and unlink(2) of a mount point fail with EBUSY, so no one may
// replace it. Bind mounts share their device with the parent, so st_dev
// cannot tell, and a btrfs subvolume has a device of its own yet may be
// renamed: statx says which is which (Linux >= 5.8; before, nothing is a
// mount root, which errs towards a finding).
func isMountRoot(p string) bool {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, 0, &st); err != nil {
		return false
	}
	return st.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && st.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
}
