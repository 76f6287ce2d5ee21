package tcp

import (
	"math"
	"time"
)

// cubic is CUBIC (RFC 9438), the default congestion control.
type cubic struct{}

// cubicState is the state of RFC 9438 §4, in segments.
type cubicState struct {
	wMax       float64   // window before the last reduction
	k          float64   // seconds to get back to wMax
	epochStart time.Time // start of the current congestion-avoidance epoch
	wEst       float64   // the Reno-friendly estimate (§4.3)
}

const (
	cubicC    = 0.4
	cubicBeta = 0.7
)

// avoid is RFC 9438 §4.2–4.4.
func (cubic) avoid(w *congestion, now time.Time, acked, mss uint32, srtt time.Duration) {
	seg := float64(mss)
	cwnd := float64(w.cwnd) / seg
	s := &w.cubic
	if s.epochStart.IsZero() {
		s.epochStart = now
		s.wEst = cwnd
		if s.wMax > cwnd {
			s.k = math.Cbrt((s.wMax - cwnd) / cubicC)
		} else {
			s.k = 0
			s.wMax = cwnd
		}
	}
	t := now.Sub(s.epochStart).Seconds() + srtt.Seconds()
	target := cubicC*math.Pow(t-s.k, 3) + s.wMax
	target = math.Min(math.Max(target, cwnd), 1.5*cwnd) // §4.2: between cwnd and 1.5 cwnd
	// §4.3: the Reno-friendly region.
	alpha := 3 * (1 - cubicBeta) / (1 + cubicBeta)
	s.wEst += alpha * (float64(acked) / seg) / cwnd
	if s.wEst > target {
		target = s.wEst
	}
	grow := (target - cwnd) / cwnd * (float64(acked) / seg) * seg
	if grow < 1 && target > cwnd {
		grow = 1
	}
	w.cwnd += uint32(grow)
}

// reduce is RFC 9438 §4.6 with fast convergence (§4.7).
func (cubic) reduce(w *congestion, flight, mss uint32) {
	s := &w.cubic
	cwnd := float64(w.cwnd) / float64(mss)
	if cwnd < s.wMax {
		s.wMax = cwnd * (1 + cubicBeta) / 2
	} else {
		s.wMax = cwnd
	}
	s.epochStart = time.Time{}
	w.ssthresh = max(uint32(float64(w.cwnd)*cubicBeta), 2*mss)
}
