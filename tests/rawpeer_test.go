package tests

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/rawpeer"
	"github.com/tunstack/tunstack/tests/testkit"
)

// These tests play the stack's remote peer with hand-built packets on the
// real TUN device (package rawpeer) and check the running daemon's answers
// segment by segment: what curl and nc cannot make a kernel send.

// TestRawPeerClosedPort: a segment to a port with no listener is answered
// with a RST built from it (RFC 9293 §3.10.7.1, "If the state is CLOSED").
func TestRawPeerClosedPort(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	p := startRawPeer(t, d)
	for i, tc := range []struct {
		name     string
		flags    tcp.Flags
		seq, ack tcp.Seq
		payload  string
		want     []testkit.TransportChecker
	}{
		// No ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
		{"SYN", tcp.FlagSYN, 1000, 0, "", []testkit.TransportChecker{testkit.TCPFlags(testkit.RST | testkit.ACK), seqIs(0), ackIs(1001)}},
		{"SYN with data", tcp.FlagSYN, 2000, 0, "hello", []testkit.TransportChecker{testkit.TCPFlags(testkit.RST | testkit.ACK), seqIs(0), ackIs(2006)}},
		// ACK: <SEQ=SEG.ACK><CTL=RST>.
		{"ACK", tcp.FlagACK, 3000, 77777, "", []testkit.TransportChecker{testkit.TCPFlags(testkit.RST), seqIs(77777)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Port 1 has no service; each case has a 4-tuple of its own.
			f := rawFlow{t: t, peer: p, peerPort: uint16(41000 + i), stackPort: 1}
			f.send(tc.flags, tc.seq, tc.ack, tc.payload)
			f.expect(segmentTimeout, "the RST for "+tc.name, tc.want...)
		})
	}
}

// TestRawPeerChallengeACK: in ESTABLISHED, a RST whose sequence number is
// in the window but not RCV.NXT is answered with a challenge ACK and does
// not reset the connection (RFC 5961 §3.2, RFC 9293 §3.10.7.4); an exact
// RST then does.
func TestRawPeerChallengeACK(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	p := startRawPeer(t, d)
	f := rawFlow{t: t, peer: p, peerPort: 42000, stackPort: 7} // echo
	const iss tcp.Seq = 5000
	f.send(tcp.FlagSYN, iss, 0, "")
	synAck := f.expect(segmentTimeout, "SYN-ACK", testkit.TCPFlags(testkit.SYN|testkit.ACK), ackIs(iss+1))
	sndNxt, rcvNxt := synAck.Seg.Seq+1, iss+1 // the stack's SND.NXT and RCV.NXT
	f.send(tcp.FlagACK, rcvNxt, sndNxt, "")
	waitStackState(t, d, f.remote(), "ESTABLISHED")

	// Before any data, so no other ACK from the stack can be mistaken for
	// the challenge.
	f.send(tcp.FlagRST, rcvNxt+100, 0, "")
	f.expect(segmentTimeout, "the challenge ACK",
		testkit.TCPFlags(testkit.ACK), seqIs(sndNxt), ackIs(rcvNxt), testkit.TCPPayload([]byte("")))
	if state, c := stackState(t, d, f.remote()); state != "ESTABLISHED" {
		t.Fatalf("after an in-window RST the connection is %s, want ESTABLISHED: %s", state, c)
	}

	// Still usable: echo answers.
	f.send(tcp.FlagPSH|tcp.FlagACK, rcvNxt, sndNxt, "ping")
	rcvNxt += 4
	echo := f.expect(segmentTimeout, "the echo of ping", testkit.TCPPayload([]byte("ping")), seqIs(sndNxt), ackIs(rcvNxt))
	sndNxt = echo.Seg.End()
	f.send(tcp.FlagACK, rcvNxt, sndNxt, "")

	// The exact RST resets it (RFC 5961 §3.2: "If the RST bit is set and
	// the sequence number exactly matches the next expected sequence number
	// (RCV.NXT), then TCP MUST reset the connection").
	f.send(tcp.FlagRST, rcvNxt, 0, "")
	testkit.WaitFor(t, segmentTimeout, "the exact RST to close the connection", func() (bool, string) {
		state, c := stackState(t, d, f.remote())
		return state == "(gone)" || state == "CLOSED", c.String()
	})
}

// rawDial runs `tunstack dial` from the stack to the raw peer's port and
// completes the handshake by hand. It returns the flow, the stack's
// SND.NXT and the peer's, dial's process and the write end of its stdin.
func rawDial(t *testing.T, d *daemon, p *rawpeer.Peer, port uint16) (f rawFlow, stackNxt, peerNxt tcp.Seq, dial *process, stdin *os.File) {
	t.Helper()
	in, feed := pipe(t)
	dial = startProcess(t, in, tunstackBinary(t), "dial", peerIPv4+":"+strconv.Itoa(int(port)), "--control", d.control)
	in.Close() // the child has its copy
	syn, err := p.Expect(segmentTimeout, func(pkt rawpeer.Packet) bool {
		return pkt.Seg.DstPort == port && pkt.Seg.Flags == tcp.FlagSYN
	})
	if err != nil {
		t.Fatalf("waiting for the SYN of tunstack dial: %v\n%s", err, dial.output())
	}
	f = rawFlow{t: t, peer: p, peerPort: port, stackPort: syn.Seg.SrcPort}
	const iss tcp.Seq = 7000
	stackNxt, peerNxt = syn.Seg.Seq+1, iss+1
	f.send(tcp.FlagSYN|tcp.FlagACK, iss, stackNxt, "")
	f.expect(segmentTimeout, "the ACK of the SYN-ACK", testkit.TCPFlags(testkit.ACK), seqIs(stackNxt), ackIs(peerNxt))
	waitStackState(t, d, f.remote(), "ESTABLISHED")
	return f, stackNxt, peerNxt, dial, feed
}

// TestRawPeerSimultaneousClose: both ends send FIN before either has seen
// the other's, so the stack goes FIN-WAIT-1, CLOSING, TIME-WAIT (RFC 9293
// §3.6, Figure 13).
func TestRawPeerSimultaneousClose(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t, "--msl", "2s")
	p := startRawPeer(t, d)
	f, stackNxt, peerNxt, dial, stdin := rawDial(t, d, p, 43000)

	stdin.Close() // dial's input ends: the stack sends FIN
	fin := f.expect(segmentTimeout, "the stack's FIN", testkit.TCPFlagsMatch(testkit.FIN, testkit.FIN), seqIs(stackNxt), ackIs(peerNxt))
	// The peer's FIN crosses it: it does not acknowledge the stack's FIN.
	f.send(tcp.FlagFIN|tcp.FlagACK, peerNxt, stackNxt, "")
	stackNxt, peerNxt = fin.Seg.End(), peerNxt+1
	f.expect(segmentTimeout, "the ACK of the peer's FIN", testkit.TCPFlags(testkit.ACK), seqIs(stackNxt), ackIs(peerNxt))
	waitStackState(t, d, f.remote(), "CLOSING")

	f.send(tcp.FlagACK, peerNxt, stackNxt, "") // the peer's ACK of the stack's FIN
	c := waitStackState(t, d, f.remote(), "TIME-WAIT")
	if want := []string{"ESTABLISHED", "FIN-WAIT-1", "CLOSING", "TIME-WAIT"}; !containsInOrder(c.States, want) {
		t.Errorf("the stack's connection went through %v; want %v in that order", c.States, want)
	}
	if !dial.wait(segmentTimeout) {
		t.Fatalf("tunstack dial still running after both FINs\n%s", dial.output())
	}
	if code := dial.exitCode(); code != 0 {
		t.Errorf("tunstack dial exited %d, want 0\n%s", code, dial.output())
	}
}

// TestRawPeerTimeWaitFINRetransmit: the stack closed first and is in
// TIME-WAIT; the peer's FIN comes again (as if the stack's ACK was lost).
// The stack acknowledges it again and restarts the 2*MSL timeout (RFC 9293
// §3.10.7.4, "TIME-WAIT STATE: The only thing that can arrive in this state
// is a retransmission of the remote FIN. Acknowledge it, and restart the 2
// MSL timeout.").
func TestRawPeerTimeWaitFINRetransmit(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	const msl = 2 * time.Second
	d := startDaemon(t, "--msl", msl.String())
	p := startRawPeer(t, d)
	f, stackNxt, peerNxt, _, stdin := rawDial(t, d, p, 44000)

	stdin.Close()
	fin := f.expect(segmentTimeout, "the stack's FIN", testkit.TCPFlagsMatch(testkit.FIN, testkit.FIN), seqIs(stackNxt), ackIs(peerNxt))
	stackNxt = fin.Seg.End()
	f.send(tcp.FlagACK, peerNxt, stackNxt, "")
	waitStackState(t, d, f.remote(), "FIN-WAIT-2")

	firstFIN := time.Now() // TIME-WAIT starts a little after this
	f.send(tcp.FlagFIN|tcp.FlagACK, peerNxt, stackNxt, "")
	f.expect(segmentTimeout, "the ACK of the peer's FIN", testkit.TCPFlags(testkit.ACK), seqIs(stackNxt), ackIs(peerNxt+1))
	waitStackState(t, d, f.remote(), "TIME-WAIT")

	// Halfway through 2*MSL, the FIN again.
	holdStackState(t, d, f.remote(), "TIME-WAIT", firstFIN.Add(msl))
	secondFIN := time.Now()
	f.send(tcp.FlagFIN|tcp.FlagACK, peerNxt, stackNxt, "")
	f.expect(segmentTimeout, "the re-ACK of the retransmitted FIN", testkit.TCPFlags(testkit.ACK), seqIs(stackNxt), ackIs(peerNxt+1))

	// Without the restart TIME-WAIT would end 2*MSL after the first FIN;
	// with it, 2*MSL after the second. Check half an MSL past the first end.
	holdStackState(t, d, f.remote(), "TIME-WAIT", firstFIN.Add(2*msl+msl/2))
	testkit.WaitFor(t, time.Until(secondFIN.Add(2*msl+msl)), "TIME-WAIT to end 2*MSL after the second FIN", func() (bool, string) {
		state, c := stackState(t, d, f.remote())
		return state == "(gone)" || state == "CLOSED", c.String()
	})
}

// TestRawPeerSYNBackoff: `tunstack dial` to a peer that never answers
// retransmits its SYN, same ISN each time, after the initial RTO of 1 s
// and then twice as long each time (RFC 6298 §2.1 and §5.5, RFC 9293
// §3.8.1).
func TestRawPeerSYNBackoff(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	p := startRawPeer(t, d)
	const port = 45000
	dial := startProcess(t, nil, tunstackBinary(t), "dial", peerIPv4+":"+strconv.Itoa(port), "--control", d.control)
	var syns []rawpeer.Packet
	for i := range 3 {
		// The third SYN comes 3 s after the first.
		syn, err := p.Expect(4*time.Second, func(pkt rawpeer.Packet) bool {
			return pkt.Seg.DstPort == port && pkt.Seg.Flags == tcp.FlagSYN
		})
		if err != nil {
			t.Fatalf("waiting for SYN %d of tunstack dial: %v\n%s", i+1, err, dial.output())
		}
		syns = append(syns, syn)
	}
	if err := dial.cmd.Process.Kill(); err != nil {
		t.Errorf("kill tunstack dial: %v", err)
	}

	for _, syn := range syns[1:] {
		if syn.Seg.Seq != syns[0].Seg.Seq || syn.Seg.SrcPort != syns[0].Seg.SrcPort {
			t.Errorf("retransmitted SYN %v, want the first one's port and ISN: %v", syn, syns[0])
		}
	}
	first, second := syns[1].At.Sub(syns[0].At), syns[2].At.Sub(syns[1].At)
	t.Logf("SYN retransmitted after %v, then after %v", first.Round(time.Millisecond), second.Round(time.Millisecond))
	// Wide bounds: a loaded machine delays timers and the capture.
	if first < 800*time.Millisecond || first > 1600*time.Millisecond {
		t.Errorf("first retransmission after %v, want about the initial RTO of 1s", first)
	}
	if ratio := float64(second) / float64(first); ratio < 1.5 || ratio > 2.5 {
		t.Errorf("second retransmission after %v, %.2f times the first (%v); want about twice", second, ratio, first)
	}
}
