package tundev

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrTUNAccess means the process may not open /dev/net/tun: the file's
// mode or owner keeps it out (EACCES), whatever its capabilities. The
// fix is the file's mode, not CAP_NET_ADMIN.
var ErrTUNAccess = errors.New("permission denied")

// tunAccessError says which file refused, with its mode and owner, and
// what makes it open; it matches ErrTUNAccess under errors.Is.
type tunAccessError struct {
	path  string
	mode  fs.FileMode
	owner int // -1 when unknown
}

func (e tunAccessError) Error() string {
	what := e.path
	if e.mode != 0 || e.owner >= 0 {
		what = fmt.Sprintf("%s (mode %v, owner uid %d)", e.path, e.mode, e.owner)
	}
	return fmt.Sprintf("cannot open %s: %v: this user may not read and write it "+
		"(it is usually crw-rw-rw-: sudo chmod 0666 %s), or run as root", what, ErrTUNAccess, e.path)
}

func (e tunAccessError) Is(target error) bool { return target == ErrTUNAccess }

// tunOpenError turns an error from opening the TUN clone device into one
// line that says what to do: EACCES is the file's mode, not a missing
// capability (TUNSETIFF's EPERM is that).
func tunOpenError(name, path string, err error) error {
	if !errors.Is(err, unix.EACCES) {
		return tunCreateError(name, err)
	}
	e := tunAccessError{path: path, owner: -1}
	if info, statErr := os.Stat(path); statErr == nil {
		e.mode = info.Mode()
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			e.owner = int(st.Uid)
		}
	}
	return fmt.Errorf("creating TUN device %s: %w", name, e)
}
