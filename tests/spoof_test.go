package tests

import (
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/rawpeer"
	"github.com/tunstack/tunstack/tests/testkit"
)

// spoofedPerKind is how many forged segments of each kind the test sends.
const spoofedPerKind = 1000

// TestSpoofedSegmentsAtAnEstablishedConnection is done-when 2 of issue 9
// with the real binary: a kernel socket is connected to the stack's echo
// port, and a raw socket forges segments with the connection's real
// 4-tuple: 1,000 SYNs with random sequence numbers, 1,000 data segments
// with a bad ACK (at RCV.NXT, so that only the ACK check stops them) and
// 1,000 RSTs in the window but not at RCV.NXT. The connection survives
// (echo works after each kind) and at most 10 ACKs of each kind leave the
// stack, counted on the kernel's side of the device with a packet socket
// (RFC 5961 §7; the daemon's default limits).
func TestSpoofedSegmentsAtAnEstablishedConnection(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	// Without timestamps on the connection, a forged segment needs no
	// timestamp option to reach the sequence and ACK checks; with them,
	// one without would be dropped silently (RFC 7323 §3.2) and prove
	// nothing.
	if r := runIn(t, d.ns, nil, "sysctl", "-qw", "net.ipv4.tcp_timestamps=0"); r.err != nil {
		t.Fatalf("sysctl: %v", r)
	}
	// The forger uses the kernel's own address: its segments are the
	// kernel socket's connection's, as an off-path attacker's would be.
	p, err := rawpeer.Open(d.ns, deviceName, netip.MustParseAddr(kernelIPv4), netip.MustParseAddr(stackIPv4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("captured on %s (last 40):\n%s", deviceName, lastLines(p.Ladder(), 40))
		}
		if err := p.Close(); err != nil {
			t.Errorf("close the packet socket: %v", err)
		}
	})
	conn := testkit.DialIn(t, d.ns, net.JoinHostPort(stackIPv4, "7"), commandTimeout)
	local := netip.MustParseAddrPort(conn.LocalAddr().String())
	f := rawFlow{t: t, peer: p, peerPort: local.Port(), stackPort: 7}
	sndNxt, rcvNxt := echoRound(t, conn, &f, "hello") // the stack's SND.NXT and RCV.NXT

	rng := rand.New(rand.NewPCG(9, 5961))
	for _, kind := range []struct {
		name string
		send func()
	}{
		{"SYNs with a random sequence number", func() {
			f.send(tcp.FlagSYN, tcp.Seq(rng.Uint32()), 0, "")
		}},
		{"data segments with a bad ACK", func() {
			ack := sndNxt.Add(1<<16 + rng.Uint32N(1<<30)) // of data not yet sent
			if rng.IntN(2) == 0 {
				ack = sndNxt - tcp.Seq(1<<17+rng.Uint32N(1<<30)) // older than any window
			}
			f.send(tcp.FlagACK|tcp.FlagPSH, rcvNxt, ack, "forged")
		}},
		{"RSTs in the window", func() {
			f.send(tcp.FlagRST, rcvNxt.Add(1+rng.Uint32N(1000)), 0, "")
		}},
	} {
		before := len(p.Captured())
		heldBefore := heldBack(d.counters(t))
		forge(t, d, spoofedPerKind, kind.send)
		// The echo of a marker is the barrier: the stack handles segments
		// in order, and the capture sees what it writes in order.
		marker := "after " + strconv.Itoa(before)
		nextSnd, nextRcv := echoRound(t, conn, &f, marker)
		acks := 0
		for _, pkt := range p.Captured()[before:] {
			s := pkt.Seg
			if pkt.Dir != rawpeer.FromStack || !pkt.IsTCP() || s.SrcPort != 7 || s.DstPort != f.peerPort {
				continue
			}
			if s.Flags.Has(tcp.FlagRST) {
				t.Errorf("%s: the stack sent %v", kind.name, pkt)
			}
			// The answers to forged segments: <SEQ=SND.NXT><ACK=RCV.NXT>
			// from before the marker.
			if s.Flags == tcp.FlagACK && len(s.Payload) == 0 && s.Seq == sndNxt && s.Ack == rcvNxt {
				acks++
			}
		}
		held := heldBack(d.counters(t)) - heldBefore
		t.Logf("%d %s drew %d ACKs; the limits held back %d", spoofedPerKind, kind.name, acks, held)
		if acks > 10 {
			t.Errorf("%d %s drew %d ACKs from the stack, want at most 10", spoofedPerKind, kind.name, acks)
		}
		// Every forgery reached the decision to answer it, and was
		// answered or held back: none was lost on the way or dropped for
		// another reason.
		if uint64(acks)+held != spoofedPerKind {
			t.Errorf("%d ACKs and %d held back, want %d together", acks, held, spoofedPerKind)
		}
		sndNxt, rcvNxt = nextSnd, nextRcv
	}
	if state, c := stackState(t, d, local.String()); state != "ESTABLISHED" {
		t.Errorf("the stack's connection is %s after the forgeries, want ESTABLISHED: %s", state, c)
	}
}

// forge calls send n times, in bursts that the TUN device's queue holds,
// each once the daemon has taken in the one before: a forged segment lost
// in a full queue would prove nothing.
func forge(t *testing.T, d *daemon, n int, send func()) {
	t.Helper()
	const burst = 100
	start := d.counters(t).MIB.InSegs
	for sent := 0; sent < n; {
		for range min(burst, n-sent) {
			send()
			sent++
		}
		testkit.WaitFor(t, segmentTimeout, "the daemon to take in the forged segments", func() (bool, string) {
			in := d.counters(t).MIB.InSegs - start
			return in >= uint64(sent), strconv.FormatUint(in, 10) + " of " + strconv.Itoa(sent) + " taken in"
		})
	}
}

// heldBack is how many answers to unacceptable segments the daemon's
// limits have held back.
func heldBack(c counterReply) uint64 {
	return c.Drops["engine:invalid-ratelimit"] + c.Drops["engine:challenge-ack-limit"]
}

// echoRound writes text on the kernel socket, reads the same text back
// from the echo service, and returns the stack's SND.NXT and RCV.NXT
// after it, from the echo's segment as captured.
func echoRound(t *testing.T, conn net.Conn, f *rawFlow, text string) (sndNxt, rcvNxt tcp.Seq) {
	t.Helper()
	conn.SetDeadline(time.Now().Add(segmentTimeout))
	if _, err := io.WriteString(conn, text); err != nil {
		t.Fatalf("write %q to echo: %v", text, err)
	}
	buf := make([]byte, len(text))
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != text {
		t.Fatalf("echo of %q: read %q, %v", text, buf, err)
	}
	echo := f.expect(segmentTimeout, "the echo of "+text, testkit.TCPPayload([]byte(text)))
	return echo.Seg.End(), echo.Seg.Ack
}

// lastLines keeps the last n lines of text.
func lastLines(text string, n int) string {
	end := len(text)
	for i := len(text) - 2; i >= 0; i-- {
		if text[i] == '\n' {
			if n--; n == 0 {
				return text[i+1 : end]
			}
		}
	}
	return text
}
