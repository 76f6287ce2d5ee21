package ladder

import (
	"strconv"
	"strings"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// label writes a segment as its arrow shows it: "SYN-ACK seq=y ack=x+1
// win=65535 <mss 1460,ws 7>", with sequence numbers relative to the ISN of
// the side they count, or absolute while that ISN is unknown.
func (b *builder) label(ev stack.Event) string {
	sender, receiver := b.d.Client, b.d.Server
	if ev.Inbound() == b.stackIsClient {
		sender, receiver = receiver, sender
	}
	seg := ev.Seg
	var s strings.Builder
	s.WriteString(seg.Flags.Label())
	s.WriteString(" seq=")
	s.WriteString(sender.relative(seg.Seq))
	if seg.Flags.Has(tcp.FlagACK) {
		s.WriteString(" ack=")
		s.WriteString(receiver.relative(seg.Ack))
	}
	if seg.Len > 0 {
		s.WriteString(" len=")
		s.WriteString(strconv.Itoa(seg.Len))
	}
	if !seg.Flags.Has(tcp.FlagRST) {
		s.WriteString(" win=")
		s.WriteString(strconv.FormatUint(uint64(b.window(ev)), 10))
	}
	// Timestamps values change on every segment: the arrow only says
	// they are there.
	if opts := optionsText(seg.Options, receiver.relative, false); opts != "" {
		s.WriteString(" <")
		s.WriteString(opts)
		s.WriteString(">")
	}
	return s.String()
}

// window is the segment's window in octets: SEG.WND shifted by its
// sender's window scale once both SYNs have agreed on scaling, as the
// receiver reads it (Wireshark's "calculated window size").
func (b *builder) window(ev stack.Event) uint64 {
	fromClient := ev.Inbound() != b.stackIsClient
	shift := &b.serverShift
	if fromClient {
		shift = &b.clientShift
	}
	seg := ev.Seg
	if seg.Flags.Has(tcp.FlagSYN) {
		*shift = -2
		if seg.Options.HasWindowScale {
			*shift = int(min(seg.Options.WindowScale, 14))
		}
		return uint64(seg.Window) // never scaled in a SYN
	}
	if b.clientShift < 0 || b.serverShift < 0 {
		return uint64(seg.Window)
	}
	return uint64(seg.Window) << *shift
}

// relative writes v as an offset from the side's ISN ("x", "y+301"), or
// as the plain number when the ISN is unknown.
func (s Side) relative(v tcp.Seq) string {
	if !s.ISNKnown {
		return strconv.FormatUint(uint64(v), 10)
	}
	switch d := int32(uint32(v) - uint32(s.ISN)); {
	case d == 0:
		return s.ISNName
	case d > 0:
		return s.ISNName + "+" + strconv.Itoa(int(d))
	default:
		return s.ISNName + strconv.Itoa(int(d))
	}
}

// OptionsText writes TCP options the way tcpdump does, without the
// brackets: "mss 1460,sackOK,TS val 1 ecr 0,wscale 7,sack 1 {x+10:x+20}".
// sack writes the sequence numbers of SACK blocks (strconv of the number
// when nil).
func OptionsText(o tcp.Options, sack func(tcp.Seq) string) string {
	return optionsText(o, sack, true)
}

func optionsText(o tcp.Options, sack func(tcp.Seq) string, tsValues bool) string {
	if sack == nil {
		sack = func(v tcp.Seq) string { return strconv.FormatUint(uint64(v), 10) }
	}
	var parts []string
	if o.MSS != 0 {
		parts = append(parts, "mss "+strconv.Itoa(int(o.MSS)))
	}
	if o.SACKPermitted {
		parts = append(parts, "sackOK")
	}
	if o.HasTimestamps && !tsValues {
		parts = append(parts, "TS")
	} else if o.HasTimestamps {
		parts = append(parts, "TS val "+strconv.FormatUint(uint64(o.TSVal), 10)+" ecr "+strconv.FormatUint(uint64(o.TSEcr), 10))
	}
	if o.HasWindowScale {
		parts = append(parts, "wscale "+strconv.Itoa(int(o.WindowScale)))
	}
	if n := int(o.NumSACK); n > 0 {
		blocks := make([]string, 0, n)
		for _, blk := range o.SACK[:min(n, len(o.SACK))] {
			blocks = append(blocks, "{"+sack(blk.Left)+":"+sack(blk.Right)+"}")
		}
		parts = append(parts, "sack "+strconv.Itoa(n)+" "+strings.Join(blocks, ""))
	}
	return strings.Join(parts, ",")
}
