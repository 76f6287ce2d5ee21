package tcp

import "time"

// Congestion control (RFC 5681): the congestion window and the slow-start
// threshold, slow start, and the response to a time-out are the same for
// every algorithm; how the window grows in congestion avoidance and how
// far it falls on a congestion event are the algorithm's, behind
// congestionControl: CUBIC (cubic.go) or NewReno (newreno.go). Loss
// detection and recovery, which decide when there is a congestion event,
// are in recovery.go.

// CongestionControl names an algorithm.
type CongestionControl uint8

// Congestion control algorithms.
const (
	CUBIC   CongestionControl = iota // RFC 9438, the default
	NewReno                          // RFC 5681 with RFC 6582's recovery
)

func (a CongestionControl) String() string {
	if a == NewReno {
		return "newreno"
	}
	return "cubic"
}

// ParseCongestionControl reads "cubic" or "newreno".
func ParseCongestionControl(s string) (CongestionControl, bool) {
	switch s {
	case "cubic", "":
		return CUBIC, true
	case "newreno", "reno":
		return NewReno, true
	}
	return CUBIC, false
}

// congestionControl is an algorithm's part: it keeps no state of its own
// (what it needs is in congestion, so that a connection allocates nothing
// for it), and one value serves every connection.
type congestionControl interface {
	// avoid grows cwnd in congestion avoidance (cwnd >= ssthresh) for
	// acked octets newly acknowledged.
	avoid(w *congestion, now time.Time, acked uint32, mss uint32, srtt time.Duration)
	// reduce sets ssthresh on a congestion event, with flight octets
	// outstanding; cwnd falls to it.
	reduce(w *congestion, flight uint32, mss uint32)
}

// algorithms are the congestionControl of each CongestionControl.
var algorithms = [...]congestionControl{CUBIC: cubic{}, NewReno: newReno{}}

func (a CongestionControl) algorithm() congestionControl {
	if int(a) < len(algorithms) {
		return algorithms[a]
	}
	return cubic{}
}

// congestion is a connection's congestion state (RFC 5681 §3.1), with
// CUBIC's (RFC 9438 §4), which NewReno leaves alone.
type congestion struct {
	cwnd, ssthresh uint32
	cubic          cubicState
}

// maxCwnd bounds cwnd, far above any window a peer can offer (RFC 7323
// §2.3: 2^30).
const maxCwnd = 1 << 30

// init sets the initial window, IW of RFC 6928: ten segments, and no
// threshold yet.
func (w *congestion) init(mss uint16) {
	w.cwnd = initialWindow(mss)
	w.ssthresh = ^uint32(0)
}

// initialWindow is IW of RFC 6928: ten segments.
func initialWindow(mss uint16) uint32 { return 10 * uint32(mss) }

// onACK grows cwnd for acked newly acknowledged octets outside recovery:
// slow start (RFC 5681 §3.1, L = 1 SMSS), then the algorithm's congestion
// avoidance.
func (w *congestion) onACK(alg congestionControl, now time.Time, acked uint32, mss uint16, srtt time.Duration) {
	if w.cwnd < w.ssthresh {
		w.cwnd += min(acked, uint32(mss))
		return
	}
	alg.avoid(w, now, acked, uint32(mss), srtt)
	w.cwnd = min(w.cwnd, maxCwnd)
}

// onCongestion is a congestion event that starts fast recovery (RFC 5681
// §3.2, RFC 9438 §4.6): ssthresh falls as the algorithm says, and cwnd to
// it, once per episode.
func (w *congestion) onCongestion(alg congestionControl, flight uint32, mss uint16) {
	alg.reduce(w, flight, uint32(mss))
	w.cwnd = w.ssthresh
}

// onTimeout is the retransmission time-out's response (RFC 5681 §3.1 (4),
// RFC 9438 §4.8): ssthresh as for a congestion event unless one already
// set it in this recovery, and cwnd one segment.
func (w *congestion) onTimeout(alg congestionControl, inRecovery bool, flight uint32, mss uint16) {
	if !inRecovery {
		w.onCongestion(alg, flight, mss)
	}
	w.cwnd = uint32(mss)
}
