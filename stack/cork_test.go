package stack

import (
	"context"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
)

// An application that writes its last bytes and closes before the loop
// gets to the connection sends them with the FIN, in one segment: a
// short exchange costs one TUN write less.
func TestDataQueuedBeforeCloseLeavesWithTheFIN(t *testing.T) {
	s, peer, _, c := acceptedScripted(t)

	// The loop is busy running this call while the application writes
	// and closes: it sees both at once afterwards.
	err := s.call(context.Background(), func() {
		if _, err := c.Write([]byte("bye")); err != nil {
			t.Errorf("Write: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	seg := peer.expect(true)
	if seg.Flags != tcp.FlagFIN|tcp.FlagPSH|tcp.FlagACK || string(seg.Payload) != "bye" {
		t.Fatalf("got %v %q, want the data and the FIN in one segment", &seg, seg.Payload)
	}
}
