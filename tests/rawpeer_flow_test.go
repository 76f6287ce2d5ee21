package tests

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/rawpeer"
	"github.com/tunstack/tunstack/tests/testkit"
)

// peerIPv4 and peerIPv6 are the raw peer's addresses: on the device's
// subnets and owned by no one, so the kernel drops what the stack sends to
// them and no kernel socket answers in the peer's place (see package
// rawpeer).
const (
	peerIPv4 = "10.77.0.3"
	peerIPv6 = "fd00:77::3"
)

// deviceName is the TUN device `tunstack up` creates by default.
const deviceName = "tunstack0"

// segmentTimeout bounds the wait for one segment the stack should send at
// once (not after a retransmission timeout).
const segmentTimeout = 5 * time.Second

// peerMSS is the MSS option of the peer's SYN and SYN-ACK.
const peerMSS = 1460

// startRawPeer opens a raw peer on the daemon's device. When the test
// ends it fails the test if the kernel sent the stack any IPv4 packet of
// its own (an RST or ICMP error in the peer's place would make every check
// meaningless), and logs everything captured if the test failed or runs
// with -v.
func startRawPeer(t *testing.T, d *daemon) *rawpeer.Peer {
	t.Helper()
	return startRawPeerAt(t, d, peerIPv4, stackIPv4)
}

// startRawPeerAt is startRawPeer with the peer at self, in front of the
// stack's address stack of the same family.
func startRawPeerAt(t *testing.T, d *daemon, self, stack string) *rawpeer.Peer {
	t.Helper()
	p, err := rawpeer.Open(d.ns, deviceName, netip.MustParseAddr(self), netip.MustParseAddr(stack))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pkt := range p.Captured() {
			if pkt.Dir == rawpeer.ToStack && pkt.Dst.Is4() == p.Addr.Is4() && pkt.Src != p.Addr && pkt.Protocol != wire.ProtoICMPv6 {
				t.Errorf("the kernel sent the stack a packet of its own, the tests assume it stays silent: %v", pkt)
			}
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("captured on %s:\n%s", deviceName, p.Ladder())
		}
		if err := p.Close(); err != nil {
			t.Errorf("close raw peer: %v", err)
		}
	})
	return p
}

// rawFlow is one TCP 4-tuple between the raw peer and the stack.
type rawFlow struct {
	t                   *testing.T
	peer                *rawpeer.Peer
	peerPort, stackPort uint16
}

// remote is the peer's end as the daemon's status lists it.
func (f *rawFlow) remote() string { return netip.AddrPortFrom(f.peer.Addr, f.peerPort).String() }

// send sends one segment from the peer; a SYN carries the MSS option.
func (f *rawFlow) send(flags tcp.Flags, seq, ack tcp.Seq, payload string) {
	f.t.Helper()
	seg := tcp.Segment{
		SrcPort: f.peerPort, DstPort: f.stackPort,
		Seq: seq, Ack: ack, Flags: flags, Window: 65535,
		Payload: []byte(payload),
	}
	if flags.Has(tcp.FlagSYN) {
		seg.Options.MSS = peerMSS
	}
	if err := f.peer.Send(seg); err != nil {
		f.t.Fatal(err)
	}
}

// expect waits for the next segment of the flow from the stack that passes
// every check, and fails the test if none comes within timeout.
func (f *rawFlow) expect(timeout time.Duration, what string, checks ...testkit.TransportChecker) rawpeer.Packet {
	f.t.Helper()
	flow := testkit.TCP(append([]testkit.TransportChecker{testkit.SrcPort(f.stackPort), testkit.DstPort(f.peerPort)}, checks...)...)
	pkt, err := f.peer.Expect(timeout, func(p rawpeer.Packet) bool { return testkit.Matches(p.Raw, flow) })
	if err != nil {
		f.t.Fatalf("waiting for %s: %v", what, err)
	}
	return pkt
}

// seqIs and ackIs check a sequence and an acknowledgment number that the
// test holds as tcp.Seq.
func seqIs(want tcp.Seq) testkit.TransportChecker { return testkit.TCPSeqNum(uint32(want)) }
func ackIs(want tcp.Seq) testkit.TransportChecker { return testkit.TCPAckNum(uint32(want)) }

// stackState is the state of the daemon's connection to remote, or
// "(gone)" when it no longer lists it.
func stackState(t *testing.T, d *daemon, remote string) (string, stackConnState) {
	t.Helper()
	c, ok := d.status(t).connection(remote)
	if !ok {
		return "(gone)", c
	}
	return c.State, c
}

// waitStackState waits until the daemon's connection to remote is in state
// and returns it.
func waitStackState(t *testing.T, d *daemon, remote, state string) stackConnState {
	t.Helper()
	var c stackConnState
	testkit.WaitFor(t, segmentTimeout, "the stack's connection to "+remote+" in "+state, func() (bool, string) {
		var got string
		got, c = stackState(t, d, remote)
		return got == state, c.String()
	})
	return c
}

// holdStackState checks, until the moment until has passed, that the
// daemon's connection to remote stays in state the whole time.
func holdStackState(t *testing.T, d *daemon, remote, state string, until time.Time) {
	t.Helper()
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for {
		if got, c := stackState(t, d, remote); got != state {
			t.Fatalf("the stack's connection to %s left %s %v too early: %s",
				remote, state, time.Until(until).Round(time.Millisecond), c)
		}
		if time.Now().After(until) {
			return
		}
		<-ticker.C
	}
}
