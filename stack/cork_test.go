package stack

import (
	"context"
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
)

// An application that writes its last bytes and closes before the loop
// gets to the connection sends them with the FIN, in one segment: a
// short exchange costs one TUN write less.
func TestDataQueuedBeforeCloseLeavesWithTheFIN(t *testing.T) {
	s, link := startScripted(t, Options{})
	ln, err := s.Listen("tcp", ":80")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	accepted := make(chan *Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Errorf("Accept: %v", err)
			close(accepted)
			return
		}
		accepted <- c.(*Conn)
	}()
	peer := &scriptedPeer{t: t, link: link, seq: 1000,
		addr:  netip.AddrPortFrom(peerAddr4, 40000),
		stack: netip.AddrPortFrom(stackAddr4, 80)}
	peer.send(tcp.FlagSYN, "")
	synAck := peer.expect(false)
	peer.ack = synAck.Seq.Add(1)
	peer.send(tcp.FlagACK, "")
	c := <-accepted
	if c == nil {
		t.FailNow()
	}

	// The loop is busy running this call while the application writes
	// and closes: it sees both at once afterwards.
	err = s.call(context.Background(), func() {
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
