package demo

import (
	"path/filepath"
	"testing"
)

// TestSubnetsAreNotShared: two demos at once get different subnets, and a
// released one is free again. The locks are per open file, so this holds
// within one process as between two.
func TestSubnetsAreNotShared(t *testing.T) {
	subnetLocks = filepath.Join(t.TempDir(), "locks")
	t.Cleanup(func() { subnetLocks = "/run/tunstack/demo-subnets.lock" })
	a, err := takeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	b, err := takeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	if a.n == b.n {
		t.Fatalf("two demos got subnet %d", a.n)
	}
	if got := a.kernel().String(); got != "10.77.100.1/24" || a.stack().String() != "10.77.100.2" {
		t.Errorf("first subnet %s, %s", got, a.stack())
	}
	if got := b.kernel6().String(); got != "fd00:77:101::1/64" || b.stack6().String() != "fd00:77:101::2" {
		t.Errorf("second subnet %s, %s", got, b.stack6())
	}
	a.release()
	c, err := takeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	defer c.release()
	defer b.release()
	if c.n != a.n {
		t.Errorf("after a release got subnet %d, want %d again", c.n, a.n)
	}
}
