package tcp

import "time"

// Timestamps (RFC 7323 §3–§5): every segment carries TSval, our clock, and
// TSecr, the peer's last timestamp worth echoing (TS.Recent). They give an
// RTT sample per ACK (RTTM) and protect against old duplicates of wrapped
// sequence numbers (PAWS).

// tsNow is our timestamp clock: milliseconds, offset per connection so
// that it says nothing about the host's uptime (RFC 7323 §7.1).
func (c *Conn) tsNow(now time.Time) uint32 {
	return uint32(now.UnixMilli()) + c.tsOffset
}

// timestampOffset is the offset of a connection's timestamp clock, drawn
// from its ISS so that a SYN cookie connection, which knows its ISS only
// from the ACK, finds the clock its SYN-ACK used.
func timestampOffset(iss Seq) uint32 { return uint32(iss) ^ 0x5bd1e995 }

// pawsReject is RFC 7323 §5.3 R1: a segment whose TSval is older than
// TS.Recent is an old duplicate.
func (c *Conn) pawsReject(seg *Segment) bool {
	return c.tsOK && seg.Options.HasTimestamps && !seg.Flags.Has(FlagRST) &&
		int32(seg.Options.TSVal-c.tsRecent) < 0
}

// updateTSRecent is RFC 7323 §4.3 (2): remember the TSval of a segment that
// covers the left edge of the window.
func (c *Conn) updateTSRecent(seg *Segment) {
	if c.tsOK && seg.Options.HasTimestamps &&
		int32(seg.Options.TSVal-c.tsRecent) >= 0 && seg.Seq.LessThanEq(c.rcv.lastAckSent) {
		c.tsRecent = seg.Options.TSVal
	}
}
