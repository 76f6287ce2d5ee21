package trace

import (
	"strconv"
	"strings"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/ladder"
	"github.com/tunstack/tunstack/stack/tcp"
)

// traceTimeFormat is the clock of a trace line: local time to the
// microsecond, as tcpdump prints it.
const traceTimeFormat = "15:04:05.000000"

// Line writes one event as `tunstack trace` prints it:
//
//	12:00:01.000001 in    10.77.0.1:40000 > 10.77.0.2:80  SYN seq=0 (1000) win=64240 <mss 1460> [LISTEN]
//	12:00:01.000010 state 10.77.0.2:80 - 10.77.0.1:40000  LISTEN → SYN-RECEIVED: RFC 9293 §3.10.7.2: SYN in LISTEN: ... [listen-syn]
//	12:00:01.000012 out   10.77.0.2:80 > 10.77.0.1:40000  SYN-ACK seq=0 (5000) ack=1 (1001) ... [SYN-RECEIVED] RFC ...
//	12:00:01.000020 drop  10.77.0.1:40000 > 10.77.0.2:80  ACK ... [ESTABLISHED] dropped: RFC ...
//
// Sequence numbers are relative to the ISN of the side they count, the
// absolute number in parentheses, once that ISN is known; the state in
// brackets is the connection's when the segment arrived or left.
func Line(e *stack.Event) string {
	var b strings.Builder
	b.WriteString(e.Time.Format(traceTimeFormat))
	b.WriteByte(' ')
	switch e.Kind {
	case stack.EventSegmentIn:
		b.WriteString("in    ")
	case stack.EventSegmentOut:
		b.WriteString("out   ")
	case stack.EventStateChange:
		b.WriteString("state ")
	case stack.EventDrop:
		b.WriteString("drop  ")
	}
	hasConn := e.Conn != (tcp.ID{})
	switch {
	case !hasConn:
	case e.Kind == stack.EventStateChange:
		b.WriteString(e.Conn.Local.String() + " - " + e.Conn.Remote.String())
	case e.Kind == stack.EventSegmentOut:
		b.WriteString(e.Conn.Local.String() + " > " + e.Conn.Remote.String())
	default:
		b.WriteString(e.Conn.Remote.String() + " > " + e.Conn.Local.String())
	}
	if hasConn {
		b.WriteString("  ")
	} else if e.Src.IsValid() {
		// A packet dropped before demultiplexing: its addresses.
		b.WriteString(e.Src.String() + " > " + e.Dst.String() + "  ")
	}
	if e.Kind == stack.EventStateChange {
		b.WriteString(e.From.String() + " → " + e.To.String())
		if why := ladder.Cite(e.Reason); why != "" {
			b.WriteString(": " + why + " [" + e.Reason.Code() + "]")
		} else if e.Detail != "" {
			b.WriteString(": " + e.Detail) // a fault ended it
		}
		return b.String()
	}
	sep := "" // between what is written already and what follows
	if e.Seg != (stack.SegmentSummary{}) {
		b.WriteString(segmentText(e))
		sep = " "
	}
	if hasConn {
		b.WriteString(" [" + e.State.String() + "]")
		sep = " "
	}
	switch {
	case e.Kind == stack.EventDrop:
		b.WriteString(sep + "dropped: ")
		if why := ladder.Cite(e.Reason); why != "" {
			b.WriteString(why + " [" + e.Reason.Code() + "]")
		} else if why := stack.DropText(e.Detail); why != "" {
			b.WriteString(why + " [" + e.Detail + "]")
		} else {
			b.WriteString(e.Detail)
		}
	case e.Reason != tcp.ReasonNone:
		b.WriteString(" " + ladder.Cite(e.Reason) + " [" + e.Reason.Code() + "]")
	}
	if e.Kind == stack.EventSegmentOut && e.Detail != "" {
		b.WriteString(" [" + e.Detail + "]") // made, changed or held for a fault or an application
	}
	return b.String()
}

// segmentText is a segment's header: "SYN-ACK seq=0 (5000) ack=1 (1001)
// win=65535 len=0 <mss 1460,wscale 7>".
func segmentText(e *stack.Event) string {
	seg := e.Seg
	var b strings.Builder
	b.WriteString(flagsText(seg.Flags))
	rel, ok := e.RelSeq()
	b.WriteString(" seq=" + seqText(uint32(seg.Seq), rel, ok))
	if seg.Flags.Has(tcp.FlagACK) {
		rel, ok := e.RelAck()
		b.WriteString(" ack=" + seqText(uint32(seg.Ack), rel, ok))
	}
	b.WriteString(" win=" + strconv.Itoa(int(seg.Window)))
	b.WriteString(" len=" + strconv.Itoa(seg.Len))
	// SACK blocks acknowledge the other side's numbers.
	isn, known := e.ISN.Local, e.ISN.LocalKnown
	if !e.Inbound() {
		isn, known = e.ISN.Remote, e.ISN.RemoteKnown
	}
	sack := func(v tcp.Seq) string { return seqText(uint32(v), uint32(v)-uint32(isn), known) }
	if opts := ladder.OptionsText(seg.Options, sack); opts != "" {
		b.WriteString(" <" + opts + ">")
	}
	return b.String()
}

// flagsText names the control bits as the ladder does ("SYN-ACK"), or
// each bit when there are others than SYN, ACK, FIN, RST and PSH.
func flagsText(f tcp.Flags) string {
	if f&^(tcp.FlagSYN|tcp.FlagACK|tcp.FlagFIN|tcp.FlagRST|tcp.FlagPSH) != 0 {
		return f.String()
	}
	return f.Label()
}

// seqText writes a sequence number relative and, in parentheses,
// absolute; only absolute when its ISN is unknown.
func seqText(abs, rel uint32, relKnown bool) string {
	if !relKnown {
		return strconv.FormatUint(uint64(abs), 10)
	}
	return strconv.FormatUint(uint64(rel), 10) + " (" + strconv.FormatUint(uint64(abs), 10) + ")"
}
