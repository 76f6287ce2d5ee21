package stack

import (
	"io"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// TestBytesAndPayloadCounted: the link's bytes each way are the lengths of
// the IP packets that crossed it, and the TCP payload bytes those of the
// segments' data.
func TestBytesAndPayloadCounted(t *testing.T) {
	s, peer, _, c := acceptedScripted(t)
	ping(t, peer.link) // the handshake's packets are counted before the baseline
	before := s.Counters()

	var bytesIn, bytesOut, packetsOut int
	data := tcpPacket(peer.addr, peer.stack, tcp.Segment{Seq: peer.seq, Ack: peer.ack,
		Flags: tcp.FlagACK | tcp.FlagPSH, Window: 65535, Payload: []byte("hello")})
	peer.link.send(data)
	bytesIn += len(data)
	peer.seq = peer.seq.Add(5)
	c.SetDeadline(time.Now().Add(testTimeout))
	got := make([]byte, 5)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello" {
		t.Fatalf("Read = %q, %v", got, err)
	}
	if _, err := c.Write([]byte("world!")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	for {
		pkt := peer.link.recv(t, testTimeout)
		bytesOut += len(pkt)
		packetsOut++
		if _, seg := parseTCP(t, pkt); string(seg.Payload) == "world!" {
			break
		}
	}
	echo := testkit.EchoRequest(peerAddr4, stackAddr4, 1, 2, []byte("barrier"))
	peer.link.send(echo)
	bytesIn += len(echo)
	bytesOut += len(peer.link.recv(t, testTimeout))
	packetsOut++

	after := s.Counters()
	for _, check := range []struct {
		name      string
		got, want uint64
	}{
		{"PacketsIn", after.PacketsIn - before.PacketsIn, 2},
		{"PacketsOut", after.PacketsOut - before.PacketsOut, uint64(packetsOut)},
		{"BytesIn", after.BytesIn - before.BytesIn, uint64(bytesIn)},
		{"BytesOut", after.BytesOut - before.BytesOut, uint64(bytesOut)},
		{"PayloadIn", after.PayloadIn - before.PayloadIn, 5},
		{"PayloadOut", after.PayloadOut - before.PayloadOut, 6},
	} {
		if check.got != check.want {
			t.Errorf("%s grew by %d, want %d", check.name, check.got, check.want)
		}
	}
}
