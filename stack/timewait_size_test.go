package stack

import (
	"testing"
	"unsafe"

	"github.com/tunstack/tunstack/stack/tcp"
)

// TestTimeWaitSizes holds timewait.go's comments and the README ("a
// 64-byte record") to the sizes they state: a record that grows fails
// here until they say its new size.
func TestTimeWaitSizes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want uintptr
	}{
		{"tcp.TimeWaitRecord", unsafe.Sizeof(tcp.TimeWaitRecord{}), 40},
		{"timeWaitEntry", unsafe.Sizeof(timeWaitEntry{}), 64},
		{"timeWaitKey", unsafe.Sizeof(timeWaitKey{}), 36},
	} {
		if tc.got != tc.want {
			t.Errorf("%s is %d bytes; the comments say %d", tc.name, tc.got, tc.want)
		}
	}
}
