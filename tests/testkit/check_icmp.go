package testkit

import (
	"bytes"
	"testing"
)

// An ICMPChecker checks one property of an ICMP or ICMPv6 message and
// reports what it found with t.Errorf.
type ICMPChecker func(testing.TB, *ICMPMessage)

// ICMP checks that the packet carries an ICMP message (ICMPv6 in IPv6)
// whose checksum verifies, and runs every checker on it.
func ICMP(checkers ...ICMPChecker) NetworkChecker {
	return func(t testing.TB, p *Packet) {
		t.Helper()
		if p.ICMP == nil {
			t.Errorf("protocol %d (fragment %v), want an ICMP message", p.Protocol, p.IsFragment)
			return
		}
		if !p.ChecksumOK {
			t.Errorf("bad ICMP checksum on type %d code %d", p.ICMP.Type, p.ICMP.Code)
		}
		for _, check := range checkers {
			check(t, p.ICMP)
		}
	}
}

// ICMPType checks the type and code.
func ICMPType(typ, code uint8) ICMPChecker {
	return func(t testing.TB, m *ICMPMessage) {
		t.Helper()
		if m.Type != typ || m.Code != code {
			t.Errorf("ICMP type %d code %d, want type %d code %d", m.Type, m.Code, typ, code)
		}
	}
}

// ICMPRest checks the header's second word (an error's MTU or pointer).
func ICMPRest(want uint32) ICMPChecker {
	return func(t testing.TB, m *ICMPMessage) {
		t.Helper()
		if m.Rest != want {
			t.Errorf("ICMP second word %#x, want %#x", m.Rest, want)
		}
	}
}

// ICMPData checks what follows the header: an echo's data, an error's
// quote.
func ICMPData(want []byte) ICMPChecker {
	return func(t testing.TB, m *ICMPMessage) {
		t.Helper()
		if !bytes.Equal(m.Data, want) {
			t.Errorf("ICMP data %q, want %q", clip(m.Data), clip(want))
		}
	}
}

// EchoReply checks that the message is an echo reply of its family (ICMP
// type 0, ICMPv6 type 129, code 0) with identifier id, sequence number seq
// and data.
func EchoReply(id, seq uint16, data []byte) ICMPChecker {
	return func(t testing.TB, m *ICMPMessage) {
		t.Helper()
		typ := uint8(ICMPv4EchoReply)
		if m.Version == 6 {
			typ = ICMPv6EchoReply
		}
		ICMPType(typ, 0)(t, m)
		ICMPRest(uint32(id)<<16|uint32(seq))(t, m)
		ICMPData(data)(t, m)
	}
}
