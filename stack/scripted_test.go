package stack

import (
	"bytes"
	"io"
	"net/netip"
	"slices"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// scriptedPeer plays the far end of one connection with hand-made
// segments.
type scriptedPeer struct {
	t           *testing.T
	link        *memLink
	addr, stack netip.AddrPort
	seq, ack    tcp.Seq // next sequence number to send, last one acknowledged
}

func (p *scriptedPeer) send(flags tcp.Flags, payload string) {
	p.t.Helper()
	seg := tcp.Segment{Seq: p.seq, Ack: p.ack, Flags: flags, Window: 65535, Payload: []byte(payload)}
	if flags.Has(tcp.FlagSYN) {
		seg.Options.MSS = 1460
	}
	p.link.send(tcpPacket(p.addr, p.stack, seg))
	p.seq = seg.End()
}

// expect returns the next segment the stack sends, checking its
// addresses; pure ACKs are skipped when skipACKs is set.
func (p *scriptedPeer) expect(skipACKs bool) tcp.Segment {
	p.t.Helper()
	for {
		ip, seg := parseTCP(p.t, p.link.recv(p.t, testTimeout))
		if ip.Src != p.stack.Addr() || ip.Dst != p.addr.Addr() || seg.SrcPort != p.stack.Port() || seg.DstPort != p.addr.Port() {
			p.t.Fatalf("segment %v:%d -> %v:%d, want %v -> %v", ip.Src, seg.SrcPort, ip.Dst, seg.DstPort, p.stack, p.addr)
		}
		if skipACKs && seg.Flags == tcp.FlagACK && len(seg.Payload) == 0 {
			continue
		}
		if seg.Flags.Has(tcp.FlagACK) {
			p.ack = seg.End()
		}
		return seg
	}
}

// newScriptedPeer is the peer at 10.77.0.1:40000 of the stack's port 80.
func newScriptedPeer(t *testing.T, link *memLink) *scriptedPeer {
	return &scriptedPeer{t: t, link: link, seq: 1000,
		addr:  netip.AddrPortFrom(peerAddr4, 40000),
		stack: netip.AddrPortFrom(stackAddr4, 80)}
}

// handshake opens the connection: SYN, the stack's SYN-ACK, ACK. It
// returns the SYN-ACK.
func (p *scriptedPeer) handshake() tcp.Segment {
	p.t.Helper()
	p.send(tcp.FlagSYN, "")
	synAck := p.expect(false)
	p.ack = synAck.Seq.Add(1)
	p.send(tcp.FlagACK, "")
	return synAck
}

// acceptedScripted starts a stack listening on port 80, has the scripted
// peer open a connection to it, and returns the stack, the peer, the
// stack's SYN-ACK and the accepted connection.
func acceptedScripted(t *testing.T) (*running, *scriptedPeer, tcp.Segment, *Conn) {
	t.Helper()
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
			accepted <- nil
			return
		}
		accepted <- c.(*Conn)
	}()
	peer := newScriptedPeer(t, link)
	synAck := peer.handshake()
	c := <-accepted
	if c == nil {
		t.FailNow()
	}
	return s, peer, synAck, c
}

func TestScriptedPeerExchange(t *testing.T) {
	s, peer, synAck, c := acceptedScripted(t)
	if synAck.Flags != tcp.FlagSYN|tcp.FlagACK || synAck.Ack != 1001 {
		t.Fatalf("got %v, want SYN-ACK ack=1001", &synAck)
	}
	wantID := tcp.ID{Local: peer.stack, Remote: peer.addr}
	if c.ID() != wantID || c.RemoteAddr().String() != "10.77.0.1:40000" {
		t.Errorf("accepted %v (remote %v), want %v", c.ID(), c.RemoteAddr(), wantID)
	}

	// Data both ways.
	peer.send(tcp.FlagACK|tcp.FlagPSH, "hello")
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v; want hello", buf[:n], err)
	}
	if _, err := c.Write([]byte("world")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	data := peer.expect(true)
	if !bytes.Equal(data.Payload, []byte("world")) || data.Ack != 1006 {
		t.Fatalf("got %v %q, want ack=1006 with world", &data, data.Payload)
	}

	// The peer closes first; the stack's FIN follows its Close.
	peer.send(tcp.FlagACK|tcp.FlagFIN, "")
	if n, err := c.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read after FIN = %d, %v; want 0, EOF", n, err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	fin := peer.expect(true)
	if !fin.Flags.Has(tcp.FlagFIN) || fin.Ack != 1007 {
		t.Fatalf("got %v, want FIN ack=1007", &fin)
	}
	peer.send(tcp.FlagACK, "")
	want := []tcp.State{tcp.Closed, tcp.Listen, tcp.SynReceived, tcp.Established, tcp.CloseWait, tcp.LastAck, tcp.Closed}
	testkit.Eventually(t, "CLOSED", func() bool { return slices.Equal(c.States(), want) })
	testkit.Eventually(t, "the connection leaving the table", func() bool { return len(s.Connections()) == 2 }) // the two listeners
}
