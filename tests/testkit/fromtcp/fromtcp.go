// Package fromtcp converts the engine's segments (stack/tcp) to testkit's,
// for the tests that script a peer in the engine's types (tcp.Seq
// arithmetic) and build or check its packets with testkit: those of stack
// and stack/wire.
//
// It is apart from testkit so that testkit imports nothing of tunstack.
// stack/tcp's own tests cannot import it (it imports stack/tcp); they
// convert their segments themselves. It converts one way only: a test that
// needs the engine's types back parses the packet with stack/wire.
package fromtcp

import (
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// Segment is s in testkit's types.
func Segment(s *tcp.Segment) testkit.Segment {
	return testkit.Segment{
		SrcPort: s.SrcPort, DstPort: s.DstPort, Seq: uint32(s.Seq), Ack: uint32(s.Ack),
		Flags: testkit.Flags(s.Flags), Window: s.Window, Urgent: s.Urgent,
		Options: Options(&s.Options), Payload: s.Payload,
	}
}

// Options is o in testkit's types.
func Options(o *tcp.Options) testkit.Options {
	out := testkit.Options{
		MSS: o.MSS, WindowScale: o.WindowScale, HasWindowScale: o.HasWindowScale, SACKPermitted: o.SACKPermitted,
		TSVal: o.TSVal, TSEcr: o.TSEcr, HasTimestamps: o.HasTimestamps,
	}
	for _, b := range o.SACK[:o.NumSACK] {
		out.SACK = append(out.SACK, testkit.SACKBlock{Left: uint32(b.Left), Right: uint32(b.Right)})
	}
	return out
}
