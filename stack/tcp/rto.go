package tcp

import "time"

// clockGranularity is G of RFC 6298 §2: the engine's clock is exact to the
// nanosecond, but a variance term under a millisecond only makes spurious
// retransmissions likely.
const clockGranularity = time.Millisecond

// rttEstimator computes the retransmission timeout of RFC 6298.
type rttEstimator struct {
	srtt, rttvar time.Duration
	rto          time.Duration // before backoff
	hasSample    bool
}

func newRTTEstimator(initial time.Duration) rttEstimator {
	return rttEstimator{rto: initial}
}

// sample feeds one RTT measurement R (RFC 6298 §2.2, §2.3).
func (e *rttEstimator) sample(r time.Duration, min, max time.Duration) {
	if r <= 0 {
		r = time.Microsecond
	}
	if !e.hasSample {
		e.srtt = r
		e.rttvar = r / 2
		e.hasSample = true
	} else {
		delta := e.srtt - r
		if delta < 0 {
			delta = -delta
		}
		e.rttvar = (3*e.rttvar + delta) / 4
		e.srtt = (7*e.srtt + r) / 8
	}
	e.rto = e.srtt + maxDuration(clockGranularity, 4*e.rttvar)
	e.rto = clampDuration(e.rto, min, max)
}

// backedOff is the RTO after n consecutive time-outs (RFC 6298 §5.5),
// bounded by max.
func (e *rttEstimator) backedOff(n int, max time.Duration) time.Duration {
	rto := e.rto
	for i := 0; i < n && rto < max; i++ {
		rto *= 2
	}
	return minDuration(rto, max)
}

func clampDuration(d, lo, hi time.Duration) time.Duration {
	return minDuration(maxDuration(d, lo), hi)
}

func minDuration(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}

func maxDuration(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}
