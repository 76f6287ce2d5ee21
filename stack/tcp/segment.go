package tcp

import (
	"strconv"
	"strings"
)

// Flags are the control bits of a TCP header (RFC 9293 §3.1).
type Flags uint8

// Control bits, in the order they sit in the header.
const (
	FlagFIN Flags = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

var flagNames = [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}

// Has reports whether every bit of m is set.
func (f Flags) Has(m Flags) bool { return f&m == m }

// String names the set bits, for example "SYN|ACK".
func (f Flags) String() string {
	if f == 0 {
		return "none"
	}
	var b strings.Builder
	for i, name := range flagNames {
		if f&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(name)
		}
	}
	return b.String()
}

// Options are the TCP options the engine understands. The zero value means
// "no options".
type Options struct {
	// MSS is the maximum segment size option (RFC 9293 §3.7.1); 0 if absent.
	MSS uint16
	// WindowScale is the window scale shift (RFC 7323 §2); valid if HasWindowScale.
	WindowScale    uint8
	HasWindowScale bool
	// SACKPermitted is the SACK-permitted option of RFC 2018.
	SACKPermitted bool
	// Timestamps (RFC 7323 §3); valid if HasTimestamps.
	TSVal, TSEcr  uint32
	HasTimestamps bool
	// SACK blocks (RFC 2018 §3): the first NumSACK entries are valid.
	SACK    [MaxSACKBlocks]SACKBlock
	NumSACK uint8
}

// MaxSACKBlocks is how many SACK blocks fit in the option space (RFC 2018
// §3: four without timestamps, three with).
const MaxSACKBlocks = 4

// SACKBlock is one block of a SACK option: the octets Left..Right-1 were
// received.
type SACKBlock struct {
	Left, Right Seq
}

// Segment is one TCP segment as the engine sees it: the header fields of
// RFC 9293 §3.1 and the payload. Addresses live in the connection's ID; the
// ports are carried so that a reply can be built without one.
type Segment struct {
	SrcPort, DstPort uint16
	Seq, Ack         Seq
	Flags            Flags
	Window           uint16
	Urgent           uint16
	Options          Options
	Payload          []byte
}

// Len is SEG.LEN of RFC 9293 §3.4: the payload plus one for SYN and one for FIN.
func (s *Segment) Len() uint32 {
	n := uint32(len(s.Payload))
	if s.Flags&FlagSYN != 0 {
		n++
	}
	if s.Flags&FlagFIN != 0 {
		n++
	}
	return n
}

// End is the sequence number just past the segment (SEG.SEQ + SEG.LEN).
func (s *Segment) End() Seq { return s.Seq.Add(s.Len()) }

// String renders the segment the way the ladder and the trace show it:
// "SYN-ACK seq=1000 ack=2001 win=65535 len=0".
func (s *Segment) String() string {
	var b strings.Builder
	b.WriteString(s.Flags.Label())
	b.WriteString(" seq=")
	b.WriteString(strconv.FormatUint(uint64(s.Seq), 10))
	if s.Flags&FlagACK != 0 {
		b.WriteString(" ack=")
		b.WriteString(strconv.FormatUint(uint64(s.Ack), 10))
	}
	b.WriteString(" win=")
	b.WriteString(strconv.FormatUint(uint64(s.Window), 10))
	b.WriteString(" len=")
	b.WriteString(strconv.Itoa(len(s.Payload)))
	return b.String()
}

// Label is the short name of a segment's control bits used in diagrams:
// "SYN", "SYN-ACK", "ACK", "FIN-ACK", "RST", "RST-ACK", "PSH-ACK", "DATA".
func (f Flags) Label() string {
	switch {
	case f.Has(FlagSYN | FlagACK):
		return "SYN-ACK"
	case f.Has(FlagSYN):
		return "SYN"
	case f.Has(FlagRST | FlagACK):
		return "RST-ACK"
	case f.Has(FlagRST):
		return "RST"
	case f.Has(FlagFIN | FlagACK):
		return "FIN-ACK"
	case f.Has(FlagFIN):
		return "FIN"
	case f.Has(FlagPSH | FlagACK):
		return "PSH-ACK"
	case f.Has(FlagACK):
		return "ACK"
	}
	return f.String()
}
