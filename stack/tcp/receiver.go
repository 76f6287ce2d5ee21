package tcp

import "time"

// receiver is the receive side of the TCB (RFC 9293 §3.3.1): the receive
// sequence variables, the window last advertised, the data received and
// not yet read, and what the ACKs we send owe the peer (SACK blocks, RFC
// 2018; D-SACK, RFC 2883).
type receiver struct {
	irs   Seq
	nxt   Seq   // RCV.NXT
	edge  Seq   // RCV.NXT+RCV.WND as last advertised: the window's right edge
	shift uint8 // our window scale, applied to the window we advertise

	peerFIN  bool // the peer's FIN was received
	clamped  bool // the budget is keeping the receive window small
	hasDSACK bool
	// recentOOO holds where the latest out-of-order segments started,
	// most recent first, one per block: the order SACK blocks are
	// reported in (RFC 2018 §4).
	numRecentOOO uint8
	recentOOO    [MaxSACKBlocks]Seq
	dsack        SACKBlock

	ackPending  int // in-order segments received and not yet acknowledged
	lastAckSent Seq // Last.ACK.sent of RFC 7323 §4.3

	// Receive-window auto-tuning (recvbuf.go): what was read since
	// spaceStart.
	spaceRead  int
	spaceStart time.Time

	buf recvBuffer
}
