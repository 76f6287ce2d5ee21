// Package tcp is tunstack's TCP engine: the state machine of RFC 9293 and
// the RFCs that harden and extend it, one connection (Conn) at a time,
// sans-IO.
//
// # The sans-IO contract
//
// The engine does no I/O, starts no goroutines and never reads a clock:
// everything it needs arrives as arguments, and everything it decides
// leaves through the interfaces its owner gives it.
//
//   - A segment arrives: Conn.Input(now, seg), or Conn.InputBurst for a
//     segment of a burst that arrived together, acknowledged once at
//     Conn.Flush. What must be sent goes out through the Env's Output
//     during the call; the segment and its payload are valid only then.
//   - Time passes: Conn.Deadline says when the next timer is due (zero:
//     none); Conn.Tick(now) fires every timer due by now.
//   - The user acts: OpenActive, OpenPassive, Send (SendMore, then Flush
//     or a CLOSE), Receive, CloseSend, Close, Abort, Status: the user calls
//     of RFC 9293 §3.10.1–§3.10.6.
//
// Output is never lost to a call order: what InputBurst and SendMore hold
// back is due at once (Deadline), so an owner that forgets Flush delays it
// by a tick; CheckInvariants reports an ACK owed that nothing will send.
// A Conn is not safe for concurrent use; the connections of one Env share
// its scratch space and are called one at a time (one event loop owns
// them). A Config made by WithDefaults is only read, and may be shared by
// every loop; a Budget is safe for concurrent use.
//
// Every decision carries a Reason: a fixed code and the RFC rule it
// follows (rst-in-window: "rfc9293:3.10.7.4/rst-in-window"), reported to
// the Env's Observer with each state change and dropped segment, and to
// Output with each segment sent. Figure5 is RFC 9293's Figure 5 as data,
// with the edges its text adds; CheckTransition says whether a state
// change is one of them, for the reason given.
//
// # Layout
//
// A Conn is composed of parts that each own one concern:
//
//	sender      the send side of the TCB: SND.UNA, SND.NXT, SND.WND, ..., the send buffer (sender.go)
//	receiver    the receive side: RCV.NXT, the window advertised, the receive buffer, SACK blocks (receiver.go, sack.go)
//	recovery    loss recovery: the SACK scoreboard, RACK-TLP, fast recovery (recovery.go, rack.go, scoreboard.go)
//	congestion  cwnd and ssthresh, behind congestionControl: CUBIC or NewReno (congestion.go, cubic.go, newreno.go)
//	timers      every deadline in one value that says which fires next (timer.go, timeouts.go)
//
// The Conn's methods follow RFC 9293 §3.10's order: the user calls
// (user.go), SEGMENT ARRIVES (input.go: the checks in the RFC's order;
// handshake.go, ack.go, text.go), output (output.go, window.go, loss.go)
// and the timers. TIME-WAIT has one implementation, TimeWaitRecord.Input
// (timewait.go), which answers for a Conn in TIME-WAIT and for the 40-byte
// record an owner keeps instead.
//
// # What is implemented
//
//   - RFC 9293: all eleven states, active, passive and simultaneous open
//     and close, half-close, RST; SEGMENT ARRIVES in the RFC's order; the
//     retransmission time-out with R1/R2 (§3.8.3), zero-window probes
//     (§3.8.6.1), silly window avoidance on both sides (§3.8.6.2), delayed
//     ACKs (§3.8.6.3), Nagle (§3.7.4, off by default), keep-alives (RFC
//     1122 §4.2.3.6), the user timeout (RFC 5482), ICMP errors (§3.9.1,
//     RFC 1122 §4.2.3.9, RFC 5927, path MTU: RFC 1191, RFC 8201).
//   - Hardening: RFC 5961 (challenge ACKs for RST and SYN, ACK checks,
//     throttled answers), RFC 6528 (keyed ISNs), RFC 4987 SYN cookies,
//     RFC 1337 (RST in TIME-WAIT ignored), RFC 6191 (a new SYN may reopen
//     TIME-WAIT), RFC 2525 §2.17 (close with unread data resets).
//   - Performance: RFC 6298 RTO with Karn, RFC 7323 window scaling,
//     timestamps and PAWS, RFC 2018 SACK and RFC 2883 D-SACK, RFC 6675
//     SACK recovery, RFC 8985 RACK-TLP, RFC 6582 NewReno, RFC 9438 CUBIC,
//     RFC 6928's initial window, receive-window auto-tuning.
//   - Memory: a Budget bounds every connection's buffers together, and
//     out-of-order data is bounded by the window and in blocks.
//
// # What is not
//
// Urgent data (the urgent pointer is ignored and the data delivered in
// line: RFC 9293 §3.8.5's MUST-30/31 are not met); text on a SYN (not
// queued: the peer sends it again); ECN (RFC 3168); TCP Fast Open (RFC
// 7413); MPTCP; TCP-AO (RFC 5925) and MD5 signatures (RFC 2385); HyStart
// (slow start ends at the first loss); pacing.
package tcp
