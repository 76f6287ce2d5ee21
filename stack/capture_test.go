package stack

import (
	"bytes"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
)

// recorder is a Capturer that keeps copies of what it sees.
type recorder struct {
	mu   sync.Mutex
	pkts []CapturedPacket
}

func (r *recorder) CapturePacket(p *CapturedPacket) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := *p
	c.Data = bytes.Clone(p.Data)
	r.pkts = append(r.pkts, c)
}

func (r *recorder) packets() []CapturedPacket {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pkts)
}

func TestCaptureSeesBothDirectionsWithReasons(t *testing.T) {
	rec := &recorder{}
	s, link := startScripted(t, Options{Capture: rec})
	if _, err := s.Listen("tcp", ":80"); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	peer := netip.AddrPortFrom(peerAddr4, 40000)
	badSum := tcpPacket(peer, netip.AddrPortFrom(stackAddr4, 80), tcp.Segment{Seq: 1, Flags: tcp.FlagSYN})
	badSum[len(badSum)-1] ^= 0xff
	link.send(badSum)
	closedPort := tcpPacket(peer, netip.AddrPortFrom(stackAddr4, 81), tcp.Segment{Seq: 1, Flags: tcp.FlagSYN})
	link.send(closedPort)
	rst := link.recv(t, testTimeout)
	syn := tcpPacket(peer, netip.AddrPortFrom(stackAddr4, 80), tcp.Segment{Seq: 1, Flags: tcp.FlagSYN, Window: 1000})
	link.send(syn)
	synAck := link.recv(t, testTimeout)
	ping(t, link)

	want := []CapturedPacket{
		{Data: badSum, Dropped: true, DropDetail: "tcp-bad-checksum"},
		{Data: closedPort, Dropped: true, DropDetail: dropNoListener},
		{Data: rst, Outbound: true, Sent: tcp.ReasonClosedRST},
		{Data: syn},
		{Data: synAck, Outbound: true, Sent: tcp.ReasonListenSYN},
	}
	got := rec.packets()
	if len(got) < len(want) {
		t.Fatalf("captured %d packets, want at least %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Time.IsZero() {
			t.Errorf("packet %d has no time", i)
		}
		g.Time = w.Time
		if !bytes.Equal(g.Data, w.Data) || g.Outbound != w.Outbound || g.Sent != w.Sent ||
			g.Dropped != w.Dropped || g.DropReason != w.DropReason || g.DropDetail != w.DropDetail {
			t.Errorf("packet %d = %+v (%q)\nwant %+v (%q)", i, g, g.Comment(), w, w.Comment())
		}
	}
	if c := got[0].Comment(); c != "drop: tcp-bad-checksum" {
		t.Errorf("comment of the bad checksum = %q", c)
	}
	if c := got[2].Comment(); c != "sent: closed-rst: segment to CLOSED: answer with RST [rfc9293:3.10.7.1]" {
		t.Errorf("comment of the RST = %q", c)
	}
	// The echo request and reply of ping close the capture, in order.
	if n := len(got); n != len(want)+2 || got[n-2].Outbound || !got[n-1].Outbound {
		t.Errorf("captured %d packets, want %d ending with the ping in and its reply out", n, len(want)+2)
	}
}

func TestCaptureCommentForEngineDrop(t *testing.T) {
	p := CapturedPacket{Dropped: true, DropReason: tcp.ReasonRSTOutsideWindow}
	if got, want := p.Comment(), "drop: rst-outside-window: RST outside the window: drop [rfc9293:3.10.7.4/rst]"; got != want {
		t.Errorf("Comment() = %q, want %q", got, want)
	}
	if got := (&CapturedPacket{}).Comment(); got != "" {
		t.Errorf("Comment() of a plain inbound packet = %q, want none", got)
	}
}

// TestNoCaptureCostsNoAllocation checks the loop's side of capture when
// nobody captures.
func TestNoCaptureCostsNoAllocation(t *testing.T) {
	var c capture
	allocs := testing.AllocsPerRun(100, func() {
		c.noteDrop("tcp-bad-checksum")
		c.noteEngineDrop(tcp.ReasonACKOld)
		c.noteSent(5, tcp.ReasonData)
	})
	if allocs != 0 || c.noted || c.reasons != nil {
		t.Errorf("with no Capturer: %v allocations, state %+v", allocs, c)
	}
}
