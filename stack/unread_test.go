package stack

import (
	"bytes"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// Data received and acknowledged stays readable after the connection is
// deleted: here the stack closes first, the peer sends 200,000 bytes (more
// than the application's queue holds, so most stay in the engine) and its
// FIN, and 2MSL runs out before the application reads any of it.
func TestUnreadDataOutlivesTimeWait(t *testing.T) {
	a, b := newMemLinkPair()
	peer := startStack(t, a, stackOptions(peerAddr4))
	opts := stackOptions(stackAddr4)
	opts.TCP.MSL = 50 * time.Millisecond
	s := startStack(t, b, opts)
	ln := listen(t, s, ":5000")
	client := dial(t, peer, "10.77.0.2:5000")
	c := acceptOne(t, ln)

	if err := c.CloseWrite(); err != nil { // the stack's FIN first: it will wait in TIME-WAIT
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("0123456789abcdef"), 200_000/16)
	go func() {
		client.Write(payload)
		client.CloseWrite()
	}()
	testkit.Eventually(t, "the stack's connection to reach TIME-WAIT and leave it", func() bool {
		st := c.States()
		return len(st) > 0 && st[len(st)-1] == tcp.Closed && slices.Contains(st, tcp.TimeWait)
	})
	c.SetReadDeadline(time.Now().Add(testTimeout))
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("read %d bytes (%v) after TIME-WAIT ended, want the %d sent", len(got), err, len(payload))
	}
}
