package tcp

import (
	"math"
	"time"
)

// Congestion control: slow start and the congestion-avoidance rule of the
// chosen algorithm, and what a congestion event does to cwnd and ssthresh.
// Loss detection and recovery are in recovery.go.

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

// onACKGrow grows cwnd for acked newly acknowledged octets outside recovery.
func (c *Conn) onACKGrow(now time.Time, acked uint32) {
	mss := uint32(c.sndMSS)
	if c.cwnd < c.ssthresh {
		c.cwnd += min(acked, mss) // slow start (RFC 5681 §3.1, L = 1 SMSS)
		return
	}
	switch c.cfg.Congestion {
	case NewReno:
		c.cwnd += max(mss*mss/c.cwnd, 1) // RFC 5681 §3.1 (3)
	default:
		c.cubicGrow(now, acked)
	}
	c.cwnd = min(c.cwnd, 1<<30)
}

// cubicGrow is RFC 9438 §4.2–4.4.
func (c *Conn) cubicGrow(now time.Time, acked uint32) {
	mss := float64(c.sndMSS)
	cwnd := float64(c.cwnd) / mss
	s := &c.cubic
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
	rtt := c.rtt.srtt
	t := now.Sub(s.epochStart).Seconds() + rtt.Seconds()
	target := cubicC*math.Pow(t-s.k, 3) + s.wMax
	target = math.Min(math.Max(target, cwnd), 1.5*cwnd) // §4.2: between cwnd and 1.5 cwnd
	// §4.3: the Reno-friendly region.
	alpha := 3 * (1 - cubicBeta) / (1 + cubicBeta)
	s.wEst += alpha * (float64(acked) / mss) / cwnd
	if s.wEst > target {
		target = s.wEst
	}
	grow := (target - cwnd) / cwnd * (float64(acked) / mss) * mss
	if grow < 1 && target > cwnd {
		grow = 1
	}
	c.cwnd += uint32(grow)
}

// onCongestion is a congestion event that starts fast recovery (RFC 5681
// §3.2, RFC 9438 §4.6): reduce ssthresh and cwnd once per episode.
func (c *Conn) onCongestion(now time.Time) {
	mss := uint32(c.sndMSS)
	flight := c.SndUna.Size(c.sndMax)
	switch c.cfg.Congestion {
	case NewReno:
		c.ssthresh = max(flight/2, 2*mss)
	default:
		s := &c.cubic
		cwnd := float64(c.cwnd) / float64(mss)
		if cwnd < s.wMax {
			s.wMax = cwnd * (1 + cubicBeta) / 2 // fast convergence (§4.7)
		} else {
			s.wMax = cwnd
		}
		s.epochStart = time.Time{}
		c.ssthresh = max(uint32(float64(c.cwnd)*cubicBeta), 2*mss)
	}
	c.cwnd = c.ssthresh
}

// onRTOCongestion is the time-out's response (RFC 5681 §3.1 (4), RFC 9438
// §4.8): ssthresh as for a congestion event, cwnd one segment.
func (c *Conn) onRTOCongestion(now time.Time) {
	if !c.inRecovery {
		c.onCongestion(now)
	}
	c.cwnd = uint32(c.sndMSS)
}
