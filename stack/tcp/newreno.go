package tcp

import "time"

// newReno is NewReno: RFC 5681's congestion avoidance; its fast recovery
// for a peer without SACK (RFC 6582) is in recovery.go.
type newReno struct{}

// avoid is RFC 5681 §3.1 (3): about one segment per RTT.
func (newReno) avoid(w *congestion, _ time.Time, _, mss uint32, _ time.Duration) {
	w.cwnd += max(mss*mss/w.cwnd, 1)
}

// reduce is RFC 5681 §3.2 (4.2): half the flight, at least two segments.
func (newReno) reduce(w *congestion, flight, mss uint32) {
	w.ssthresh = max(flight/2, 2*mss)
}
