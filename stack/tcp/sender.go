package tcp

import "time"

// sender is the send side of the TCB (RFC 9293 §3.3.1): the send sequence
// variables, what the peer's SYN and ACKs offered (window, MSS, scale),
// the data the user queued, and the RTT measurement of one segment at a
// time (RFC 6298, Karn) for a peer without timestamps.
type sender struct {
	iss    Seq
	una    Seq    // SND.UNA
	nxt    Seq    // SND.NXT
	max    Seq    // the highest SND.NXT so far: SND.NXT goes back on a time-out
	wnd    uint32 // SND.WND, scaled
	wl1    Seq    // SND.WL1
	wl2    Seq    // SND.WL2
	maxWnd uint32 // MAX.SND.WND: the largest window the peer offered (RFC 5961 §5.2)
	mss    uint16 // the send MSS (RFC 9293 §3.7.1)
	shift  uint8  // the peer's window scale, applied to SEG.WND (RFC 7323 §2.3)

	finQueued   bool // the user closed: a FIN follows the data
	swsOverride bool // the override time-out of §3.8.6.2.1 expired
	clamped     bool // the budget is keeping the send space small
	rttTiming   bool // rttSeq, sent at rttStart, is being timed
	probesOut   int  // zero-window probes sent since the peer's last ACK
	rttSeq      Seq
	rttStart    time.Time

	buf sendBuffer
}
