package tcp

// ResetFor builds the RST that answers seg when no connection exists
// (RFC 9293 §3.10.7.1): if seg has ACK, <SEQ=SEG.ACK><CTL=RST>; otherwise
// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. It returns false for a RST,
// which is never answered.
func ResetFor(seg *Segment) (Segment, bool) {
	if seg.Flags.Has(FlagRST) {
		return Segment{}, false
	}
	rst := Segment{SrcPort: seg.DstPort, DstPort: seg.SrcPort}
	if seg.Flags.Has(FlagACK) {
		rst.Seq = seg.Ack
		rst.Flags = FlagRST
	} else {
		rst.Ack = seg.End()
		rst.Flags = FlagRST | FlagACK
	}
	return rst, true
}
