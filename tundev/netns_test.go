package tundev

import (
	"errors"
	"os"
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

func TestUniqueNamePID(t *testing.T) {
	for _, tt := range []struct {
		name string
		pid  int
		ok   bool
	}{
		{"tunstack-demo-396-671d8350", 396, true},
		{"tunstack-demo-396-671d835", 0, false},
		{"tunstack-demo-x-671d8350", 0, false},
		{"other-396-671d8350", 0, false},
		{UniqueNetNSName("tunstack-demo"), os.Getpid(), true},
	} {
		pid, ok := uniqueNamePID(tt.name, "tunstack-demo")
		if ok != tt.ok || (ok && pid != tt.pid) {
			t.Errorf("%s: %d %v, want %d %v", tt.name, pid, ok, tt.pid, tt.ok)
		}
	}
	if !processRuns(os.Getpid()) {
		t.Error("this process does not run")
	}
}
