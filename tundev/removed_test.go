package tundev

import (
	"errors"
	"os"
	"testing"
	"time"
)

// TestReadAfterLinkDeleted: deleting the link under a Device (ip link
// del) makes Read fail with an error that says so and that a reader
// stopping on a closed link stops on; Close still succeeds, and the
// namespace Open created goes.
func TestReadAfterLinkDeleted(t *testing.T) {
	dev := openTestDevice(t, defaultCfg)
	done := make(chan error, 1)
	go func() {
		bufs, sizes := newBatch(dev.BatchSize(), testOffset+65535)
		for {
			if _, err := dev.Read(bufs, sizes, testOffset); err != nil {
				done <- err
				return
			}
		}
	}()
	h := netlinkIn(t, dev.NetNS())
	link, err := h.LinkByName(dev.Name())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkDel(link); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrDeviceRemoved) || !errors.Is(err, os.ErrClosed) {
			t.Errorf("Read after the link was deleted: %v, want ErrDeviceRemoved and os.ErrClosed", err)
		}
		if want := "device " + dev.Name() + " was removed (ip link del)"; err.Error() != want {
			t.Errorf("Read's error says %q, want %q", err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked 5s after the link was deleted")
	}
	if err := dev.Close(); err != nil {
		t.Errorf("Close after the link was deleted: %v", err)
	}
	if _, err := NetNSID(dev.NetNS()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace %s still there after Close (%v)", dev.NetNS(), err)
	}
}
