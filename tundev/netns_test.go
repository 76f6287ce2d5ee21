package tundev

import (
	"errors"
	"strings"
	"testing"
)

func TestUniqueNetNSName(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		name := UniqueNetNSName("tundev-test")
		if !strings.HasPrefix(name, "tundev-test-") || checkNetNSName(name) != nil {
			t.Fatalf("UniqueNetNSName = %q", name)
		}
		if seen[name] {
			t.Fatalf("UniqueNetNSName returned %q twice", name)
		}
		seen[name] = true
	}
}

func TestNetNSHelpersRefuseBadNames(t *testing.T) {
	for _, name := range []string{"", "..", "a/b"} {
		if err := DeleteNetNS(name); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("DeleteNetNS(%q) = %v, want ErrInvalidConfig", name, err)
		}
		if err := CreateNetNS(name); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("CreateNetNS(%q) = %v, want ErrInvalidConfig", name, err)
		}
	}
}

func TestDeleteMissingNetNSIsNoError(t *testing.T) {
	if err := DeleteNetNS(UniqueNetNSName("tundev-absent")); err != nil {
		t.Errorf("DeleteNetNS of a missing namespace = %v, want nil", err)
	}
}
