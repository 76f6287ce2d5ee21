package stack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
)

func TestEveryReasonAndDropCodeHasASlot(t *testing.T) {
	if reasonCount > reasonSlots {
		t.Errorf("the engine has %d reasons, counters have %d slots: raise reasonSlots", reasonCount, reasonSlots)
	}
	if len(knownDrops) > dropSlots {
		t.Errorf("%d known drop codes, %d slots: raise dropSlots", len(knownDrops), dropSlots)
	}
	if len(knownDropSlot) != len(knownDrops) {
		t.Errorf("knownDrops has a duplicate: %v", knownDrops)
	}
}

// counted is the part of Counters the scenarios check.
type counted struct {
	MIB           TCPMIB
	ChallengeACKs uint64
	Retransmits   map[string]uint64 // non-zero kinds only
	RSTsByReason  map[string]uint64
	States        map[tcp.State]int
}

func countedOf(c Counters) counted {
	got := counted{MIB: c.MIB, ChallengeACKs: c.ChallengeACKs, RSTsByReason: c.RSTsByReason, States: c.States,
		Retransmits: map[string]uint64{}}
	for kind, n := range c.Retransmits {
		if n > 0 {
			got.Retransmits[kind] = n
		}
	}
	return got
}

// TestTCPMIBCounters plays a peer against a stack listening on port 80 (on
// both of its addresses: two listeners) and checks the counters to the
// unit against RFC 4022's definitions.
func TestTCPMIBCounters(t *testing.T) {
	handshake := func(p *scriptedPeer) {
		p.send(tcp.FlagSYN, "")
		synAck := p.expect(false)
		p.ack = synAck.Seq.Add(1)
		p.send(tcp.FlagACK, "")
	}
	tests := []struct {
		name string
		rto  time.Duration // the initial RTO when not the default
		// synAckRetries, when not 0, bounds the SYN-ACK's retransmissions.
		synAckRetries int
		play          func(p *scriptedPeer)
		want          counted
		drops         map[string]uint64 // drop reasons that must be counted so
	}{
		{
			name: "SYN to a closed port",
			play: func(p *scriptedPeer) {
				p.stack = netip.AddrPortFrom(stackAddr4, 81)
				p.send(tcp.FlagSYN, "")
				p.expect(false)
			},
			want: counted{
				MIB:          TCPMIB{InSegs: 1, OutSegs: 1, OutRsts: 1},
				RSTsByReason: map[string]uint64{"closed-rst": 1},
			},
			drops: map[string]uint64{dropNoListener: 1},
		},
		{
			name: "bad checksum",
			play: func(p *scriptedPeer) {
				pkt := tcpPacket(p.addr, p.stack, tcp.Segment{Seq: 1, Flags: tcp.FlagSYN})
				pkt[len(pkt)-1] ^= 0xff
				p.link.send(pkt)
			},
			want:  counted{MIB: TCPMIB{InSegs: 1, InErrs: 1}},
			drops: map[string]uint64{"tcp-bad-checksum": 1},
		},
		{
			name: "handshake",
			play: handshake,
			want: counted{
				MIB:    TCPMIB{PassiveOpens: 1, CurrEstab: 1, InSegs: 2, OutSegs: 1},
				States: map[tcp.State]int{tcp.Listen: 2, tcp.Established: 1},
			},
		},
		{
			name: "RST in SYN-RECEIVED",
			play: func(p *scriptedPeer) {
				p.send(tcp.FlagSYN, "")
				p.expect(false)
				p.send(tcp.FlagRST, "")
			},
			want: counted{MIB: TCPMIB{PassiveOpens: 1, AttemptFails: 1, InSegs: 2, OutSegs: 1}},
		},
		{
			name: "SYN-ACK retransmitted",
			rto:  50 * time.Millisecond,
			// Once only: on a loaded machine the RST below may come after
			// the next time-out, which then ends the connection (the same
			// counts) instead of sending a third SYN-ACK.
			synAckRetries: 1,
			play: func(p *scriptedPeer) {
				p.send(tcp.FlagSYN, "")
				p.expect(false)
				if again := p.expect(false); again.Flags != tcp.FlagSYN|tcp.FlagACK {
					p.t.Fatalf("got %v, want the SYN-ACK again", &again)
				}
				// Back to LISTEN before the next one, 100ms on.
				p.send(tcp.FlagRST, "")
			},
			want: counted{
				MIB:         TCPMIB{PassiveOpens: 1, AttemptFails: 1, InSegs: 2, OutSegs: 1, RetransSegs: 1},
				Retransmits: map[string]uint64{RetransmitSYNACK: 1},
			},
		},
		{
			name: "challenge ACK, then reset",
			play: func(p *scriptedPeer) {
				handshake(p)
				p.seq += 100 // in the window, not exact
				p.send(tcp.FlagRST, "")
				p.expect(false)
				p.seq -= 100
				p.send(tcp.FlagRST, "")
			},
			want: counted{
				MIB:           TCPMIB{PassiveOpens: 1, EstabResets: 1, InSegs: 4, OutSegs: 2},
				ChallengeACKs: 1,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{}
			opts.TCP.InitialRTO = tt.rto
			opts.TCP.SynAckRetries = tt.synAckRetries
			s, link := startScripted(t, opts)
			if _, err := s.Listen("tcp", ":80"); err != nil {
				t.Fatalf("Listen: %v", err)
			}
			peer := &scriptedPeer{t: t, link: link, seq: 1000,
				addr:  netip.AddrPortFrom(peerAddr4, 40000),
				stack: netip.AddrPortFrom(stackAddr4, 80)}
			tt.play(peer)
			ping(t, link) // everything sent before has been handled

			want := tt.want
			if want.States == nil {
				want.States = map[tcp.State]int{tcp.Listen: 2}
			}
			c := s.Counters()
			if diff := cmp.Diff(want, countedOf(c), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("counters (-want +got):\n%s", diff)
			}
			for reason, n := range tt.drops {
				if c.Drops[reason] != n {
					t.Errorf("Drops[%s] = %d, want %d (all: %v)", reason, c.Drops[reason], n, c.Drops)
				}
			}
			if c.SegmentsOut != c.MIB.OutSegs+c.MIB.RetransSegs {
				t.Errorf("SegmentsOut %d != OutSegs %d + RetransSegs %d", c.SegmentsOut, c.MIB.OutSegs, c.MIB.RetransSegs)
			}
			if len(c.Retransmits) != len(RetransmitKinds) {
				t.Errorf("Retransmits = %v, want every kind of %v", c.Retransmits, RetransmitKinds)
			}
		})
	}
}

func TestActiveOpenAndRefusal(t *testing.T) {
	client, server := startPair(t)
	listen(t, server, ":7")
	conn := dial(t, client, "10.77.0.2:7")
	testkit.Eventually(t, "both ends ESTABLISHED", func() bool {
		return client.Counters().MIB.CurrEstab == 1 && server.Counters().MIB.CurrEstab == 1
	})
	if _, err := client.DialContext(t.Context(), "tcp", "10.77.0.2:8"); err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	conn.Close()
	testkit.Eventually(t, "the client's connection to leave ESTABLISHED", func() bool { return client.Counters().MIB.CurrEstab == 0 })

	c := client.Counters()
	if c.MIB.ActiveOpens != 2 || c.MIB.AttemptFails != 1 || c.MIB.PassiveOpens != 0 {
		t.Errorf("client MIB = %+v, want 2 active opens, 1 attempt failed (the refused one)", c.MIB)
	}
	sc := server.Counters()
	if sc.MIB.PassiveOpens != 1 || sc.MIB.OutRsts != 1 || sc.RSTsByReason["closed-rst"] != 1 {
		t.Errorf("server MIB = %+v, RSTs %v; want 1 passive open, 1 RST to the closed port", sc.MIB, sc.RSTsByReason)
	}
}

func TestDropCountingTakesNoLockForKnownCodes(t *testing.T) {
	var c counters
	allocs := testing.AllocsPerRun(100, func() {
		c.drop(wire.ErrBadTCPChecksum.Code())
		c.drop(dropNoListener)
		c.engineDrop(tcp.ReasonRSTOutsideWindow)
		c.segmentSent(tcp.FlagRST|tcp.FlagACK, 0, tcp.ReasonClosedRST)
		c.stateChange(tcp.Listen, tcp.SynReceived)
	})
	if allocs != 0 {
		t.Errorf("counting allocates %v times per run, want 0", allocs)
	}
	if c.otherDrops != nil {
		t.Errorf("known codes went to the locked map: %v", c.otherDrops)
	}
	got := c.snapshot()
	if got.Drops["tcp-bad-checksum"] != 101 || got.Drops["engine:rst-outside-window"] != 101 || got.MIB.InErrs != 101 {
		t.Errorf("snapshot = %+v", got)
	}
}
