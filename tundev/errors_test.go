package tundev

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestTUNCreateErrorMapping(t *testing.T) {
	tests := []struct {
		errno   unix.Errno
		want    error
		message string
	}{
		{unix.EPERM, ErrPermission, "creating TUN device tunstack0: operation not permitted (need CAP_NET_ADMIN: run as root or with sudo)"},
		{unix.EACCES, ErrPermission, "creating TUN device tunstack0: operation not permitted (need CAP_NET_ADMIN: run as root or with sudo)"},
		{unix.EBUSY, ErrDeviceBusy, "creating TUN device tunstack0: device name in use (another process holds a TUN device of that name)"},
		{unix.ENOENT, ErrNoTUN, "creating TUN device tunstack0: /dev/net/tun does not exist (load the tun module: modprobe tun)"},
		{unix.ENODEV, ErrNoTUN, "creating TUN device tunstack0: /dev/net/tun does not exist (load the tun module: modprobe tun)"},
		{unix.EINVAL, unix.EINVAL, "creating TUN device tunstack0: invalid argument"},
	}
	for _, tt := range tests {
		t.Run(tt.errno.Error(), func(t *testing.T) {
			err := tunCreateError("tunstack0", tt.errno)
			if !errors.Is(err, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.want)
			}
			if err.Error() != tt.message {
				t.Errorf("message = %q\n         want %q", err.Error(), tt.message)
			}
		})
	}
}

func TestNamespacePermissionNamesCapability(t *testing.T) {
	err := netnsError("creating network namespace x", unix.EPERM)
	want := "creating network namespace x: operation not permitted (need CAP_SYS_ADMIN: run as root or with sudo)"
	if !errors.Is(err, ErrPermission) || err.Error() != want {
		t.Errorf("netnsError = %q (ErrPermission: %v), want %q", err, errors.Is(err, ErrPermission), want)
	}
}

// TestTUNOpenAccessDenied: EACCES opening the clone device names the
// file, its mode and the fix, and is not taken for a missing capability.
func TestTUNOpenAccessDenied(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tun")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := tunOpenError("tunstack0", path, unix.EACCES)
	if !errors.Is(err, ErrTUNAccess) || errors.Is(err, ErrPermission) {
		t.Errorf("tunOpenError(EACCES) = %v: want ErrTUNAccess, not ErrPermission", err)
	}
	want := fmt.Sprintf("creating TUN device tunstack0: cannot open %s (mode -rw-------, owner uid %d): permission denied: "+
		"this user may not read and write it (it is usually crw-rw-rw-: sudo chmod 0666 %s), or run as root", path, os.Getuid(), path)
	if err.Error() != want {
		t.Errorf("message = %q\n         want %q", err, want)
	}
	if err := tunOpenError("tunstack0", path, unix.ENOENT); !errors.Is(err, ErrNoTUN) {
		t.Errorf("tunOpenError(ENOENT) = %v, want ErrNoTUN", err)
	}
}
