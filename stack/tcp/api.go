package tcp

import (
	"net/netip"
	"time"
)

// ID names a connection by its 4-tuple, from this end's point of view.
type ID struct {
	Local, Remote netip.AddrPort
}

// Output takes every segment the engine sends. The segment and its payload
// are valid only during the call: serialize them before returning. why is
// the reason the segment was sent (ReasonRetransmitSYN, ReasonRSTInWindowChallenge, ...).
type Output interface {
	Output(c *Conn, seg *Segment, why Reason)
}

// AnswerBudget is an Output that also rations, across all its
// connections, the answers the engine sends to segments it cannot trust:
// ACKs to unacceptable segments once the connection's own limit allowed
// them (RFC 5961 §7's challenge-ACK budget; why is ReasonUnacceptable,
// ReasonPAWS, ReasonSYNChallenge, ...), and RSTs to segments for no
// connection (ReasonClosedRST, ReasonListenACKReset). The engine asks
// before each one and sends it only if AllowAnswer returns true. The
// budget lives with the owner, so that Config stays read-only.
type AnswerBudget interface {
	AllowAnswer(now time.Time, why Reason) bool
}

// Observer hears the engine's decisions. A nil Observer costs nothing.
type Observer interface {
	// StateChange: c moved from one state to another. cause is the segment
	// that moved it, or nil for a user call or a timer.
	StateChange(c *Conn, from, to State, cause *Segment, why Reason)
	// Drop: seg was discarded (not acceptable, not expected, malformed for
	// this state). Segments that are answered (RST, ACK) are also reported
	// by Output with the same reason. seg is nil for a decision about an
	// ICMP error (ReasonICMPIgnored, ReasonPMTU).
	Drop(c *Conn, seg *Segment, why Reason)
}

// Status is the STATUS call of RFC 9293 §3.10.6: a snapshot of the TCB.
type Status struct {
	ID                           ID
	State                        State
	ISS, IRS                     Seq
	SndUna, SndNxt               Seq
	SndWnd                       uint32
	RcvNxt                       Seq
	RcvWnd                       uint32
	SendQueue                    int // bytes queued and not yet acknowledged
	RecvQueue                    int // bytes received and not yet read
	MSS                          uint16
	SRTT, RTTVar, RTO            time.Duration
	Backoff                      int       // consecutive retransmission time-outs
	RetransmitAt                 time.Time // zero if the timer is stopped
	TimeWaitAt                   time.Time // 2MSL end, zero unless TIME-WAIT
	FinWait2At                   time.Time // orphan time-out, zero unless running
	DelayedACKAt                 time.Time
	Retransmits                  int // segments retransmitted over the lifetime
	SegsIn, SegsOut              int
	PeerClosed, Closed, Orphaned bool

	// Congestion control and loss recovery.
	Congestion       CongestionControl
	Cwnd, Ssthresh   uint32
	InRecovery       bool
	InFlight         uint32 // RFC 6675 "pipe"
	SackedBytes      uint32 // SACKed above SND.UNA
	LostBytes        uint32 // judged lost, waiting for retransmission
	SACKHoles        int    // gaps below the highest SACKed octet
	MinRTT           time.Duration
	SendWindowScale  int // -1 when window scaling is off
	RecvWindowScale  int
	SACK, Timestamps bool
	PersistAt        time.Time // zero unless the persist timer runs
	KeepAliveAt      time.Time
	TLPAt, RACKAt    time.Time
	UserTimeoutAt    time.Time
}
