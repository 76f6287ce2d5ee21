package usage

import (
	"errors"
	"fmt"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	base := errors.New("--mtu 70000: must be between 1280 and 65535")
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{Errorf("--dev %q: too long", "x"), true},
		{Wrap(base), true},
		{fmt.Errorf("starting: %w", Wrap(base)), true},
		{base, false},
		{nil, false},
	} {
		if got := Is(tt.err); got != tt.want {
			t.Errorf("Is(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	if Wrap(nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
	if err := Wrap(base); !errors.Is(err, base) || err.Error() != base.Error() {
		t.Errorf("Wrap(%v) = %v: the message or the chain changed", base, err)
	}
}

func TestRunAsRoot(t *testing.T) {
	err := RunAsRoot(ErrNeedNetAdmin, "tunstack up")
	if want := "creating TUN device needs CAP_NET_ADMIN: run as root (sudo tunstack up)"; err.Error() != want {
		t.Errorf("RunAsRoot = %q, want %q", err, want)
	}
	if !errors.Is(err, ErrNeedNetAdmin) || Is(err) {
		t.Errorf("RunAsRoot(%v) lost its cause or became a usage error", ErrNeedNetAdmin)
	}
}
