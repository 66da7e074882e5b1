package sys

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestStackedDevs: an anonymous device our mountinfo lists as a plain
// filesystem (procfs) is not a stacking one's; an anonymous device no
// mount of ours shows (another namespace's overlay, say) may be; a disk's
// never is.
func TestStackedDevs(t *testing.T) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self", &st); err != nil {
		t.Fatal(err)
	}
	stacked := (&fileTree{}).Stacked()
	if unix.Major(st.Dev) != 0 {
		t.Fatalf("/proc is on device %d:%d, want an anonymous one", unix.Major(st.Dev), unix.Minor(st.Dev))
	}
	if stacked(st.Dev).Stacked {
		t.Errorf("procfs (%d:%d) counted as stacked", unix.Major(st.Dev), unix.Minor(st.Dev))
	}
	if unlisted := unix.Mkdev(0, 1<<19); !stacked(unlisted).Stacked {
		t.Error("an anonymous device no mount shows is not counted as stacked")
	}
	if stacked(unix.Mkdev(8, 1)).Stacked {
		t.Error("a disk's device counted as stacked")
	}
}
