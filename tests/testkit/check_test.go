package testkit

import (
	"net/netip"
	"testing"
)

// Every checker must pass on a packet that has what it checks and fail,
// saying what it found, on one that does not.
func TestCheckersPassAndFail(t *testing.T) {
	syn := Segment{Seq: 1000, Flags: SYN, Window: 64240, Options: Options{MSS: 1460, WindowScale: 7, HasWindowScale: true,
		SACKPermitted: true, TSVal: 5, TSEcr: 0, HasTimestamps: true}}
	data := Segment{Seq: 5000, Ack: 1001, Flags: PSH | ACK, Window: 502, Payload: []byte("hello"),
		Options: Options{SACK: []SACKBlock{{10, 20}, {30, 40}}}}
	synPkt := TCPPacket(netip.AddrPortFrom(host4, 40000), netip.AddrPortFrom(stack4, 80), syn)
	dataPkt := TCPPacket(netip.AddrPortFrom(stack6, 80), netip.AddrPortFrom(host6, 40000), data)
	echo := EchoRequest(host4, stack4, 9, 3, []byte("ping"))
	reply := ICMPPacket(stack6, host6, ICMPv6EchoReply, 0, 9<<16|3, []byte("ping"))
	udp := UDPPacket(netip.AddrPortFrom(host4, 4000), netip.AddrPortFrom(stack4, 5000), []byte("u"))
	frag := Fragments(IPPacket(host4, stack4, ProtoTCP, make([]byte, 64)), 7, 32)[1]

	for _, tc := range []struct {
		name    string
		pkt     []byte
		pass    NetworkChecker
		fail    NetworkChecker
		message string
	}{
		{"SrcAddr", synPkt, SrcAddr(host4), SrcAddr(stack4), "source address 10.77.0.1, want 10.77.0.2"},
		{"DstAddr", dataPkt, DstAddr(host6), DstAddr(stack6), "destination address fd00:77::1"},
		{"TTL", synPkt, TTL(64), TTL(255), "TTL 64, want 255"},
		{"DontFragment", synPkt, DontFragment(false), DontFragment(true), "DF false, want true"},
		{"IPPayloadLen", echo, IPPayloadLen(12), IPPayloadLen(13), "IP payload of 12 bytes, want 13"},
		{"FragmentOf", frag, FragmentOf(7, 32, 32, false), FragmentOf(7, 32, 32, true), "want a fragment id 0x7 [32, 64) more true"},
		{"TCP", synPkt, TCP(), UDP(), "want a UDP datagram"},
		{"TCP on ICMP", echo, ICMP(), TCP(), "want a TCP segment"},
		{"SrcPort", synPkt, TCP(SrcPort(40000)), TCP(SrcPort(80)), "source port 40000, want 80"},
		{"DstPort", udp, UDP(DstPort(5000)), UDP(DstPort(4000)), "destination port 5000, want 4000"},
		{"UDPPayload", udp, UDP(UDPPayload([]byte("u"))), UDP(UDPPayload([]byte("v"))), `UDP payload "u", want "v"`},
		{"TCPFlags", synPkt, TCP(TCPFlags(SYN)), TCP(TCPFlags(SYN | ACK)), "flags SYN (under the mask FIN|SYN|RST|PSH|ACK|URG|ECE|CWR), want SYN|ACK"},
		{"TCPFlagsMatch", dataPkt, TCP(TCPFlagsMatch(ACK, ACK|RST)), TCP(TCPFlagsMatch(ACK|RST, ACK|RST)), "flags ACK (under the mask RST|ACK), want RST|ACK"},
		{"TCPSeqNum", synPkt, TCP(TCPSeqNum(1000)), TCP(TCPSeqNum(1001)), "seq 1000, want 1001"},
		{"TCPAckNum", dataPkt, TCP(TCPAckNum(1001)), TCP(TCPAckNum(1000)), "ack 1001 (flags PSH|ACK), want ACK 1000"},
		{"TCPAckNum without ACK", synPkt, TCP(TCPSeqNum(1000)), TCP(TCPAckNum(0)), "(flags SYN), want ACK 0"},
		{"TCPUrgent", synPkt, TCP(TCPUrgent(0)), TCP(TCPUrgent(1)), "urgent pointer 0, want 1"},
		{"TCPWindow", dataPkt, TCP(TCPWindow(502)), TCP(TCPWindow(501)), "window 502, want 501"},
		{"TCPPayload", dataPkt, TCP(TCPPayload([]byte("hello"))), TCP(TCPPayload([]byte("hullo"))), `payload "hello", want "hullo"`},
		{"TCPPayloadLen", dataPkt, TCP(TCPPayloadLen(5)), TCP(TCPPayloadLen(0)), "payload of 5 bytes, want 0"},
		{"TCPMSS", synPkt, TCP(TCPMSS(1460)), TCP(TCPMSS(536)), "MSS option 1460, want 536"},
		{"TCPMSS absent", dataPkt, TCP(TCPMSS(0)), TCP(TCPMSS(1460)), "MSS option 0, want 1460"},
		{"TCPWindowScale", synPkt, TCP(TCPWindowScale(7)), TCP(TCPWindowScale(6)), "shift 7, want shift 6"},
		{"TCPWindowScale absent", dataPkt, TCP(TCPNoOption(OptWindowScale)), TCP(TCPWindowScale(0)), "window scale option false"},
		{"TCPSACKPermitted", synPkt, TCP(TCPSACKPermitted(true)), TCP(TCPSACKPermitted(false)), "SACK-permitted option true, want false"},
		{"TCPSACKBlocks", dataPkt, TCP(TCPSACKBlocks(SACKBlock{10, 20}, SACKBlock{30, 40})), TCP(TCPSACKBlocks(SACKBlock{30, 40}, SACKBlock{10, 20})), "SACK blocks [{10 20} {30 40}], want [{30 40} {10 20}]"},
		{"TCPSACKBlocks none", synPkt, TCP(TCPSACKBlocks()), TCP(TCPSACKBlocks(SACKBlock{1, 2})), "SACK blocks [], want [{1 2}]"},
		{"TCPTimestamps", synPkt, TCP(TCPTimestamps(5, 0)), TCP(TCPTimestamps(5, 1)), "val 5 ecr 0, want val 5 ecr 1"},
		{"TCPTimestampEcr", synPkt, TCP(TCPTimestampEcr(0)), TCP(TCPTimestampEcr(9)), "ecr 0, want ecr 9"},
		{"TCPNoOption", dataPkt, TCP(TCPNoOption(OptTimestamps)), TCP(TCPNoOption(OptSACK)), "an option of kind 5, want none"},
		{"TCPOptions", synPkt, TCP(TCPOptions(syn.Options)), TCP(TCPOptions(Options{MSS: 1460})), "want <mss 1460>"},
		{"TCPOptions none", echo, ICMP(), TCP(TCPOptions(Options{})), "want a TCP segment"},
		{"ICMP", echo, ICMP(ICMPType(ICMPv4EchoRequest, 0)), ICMP(ICMPType(ICMPv4EchoReply, 0)), "ICMP type 8 code 0, want type 0 code 0"},
		{"ICMPRest", echo, ICMP(ICMPRest(9<<16 | 3)), ICMP(ICMPRest(3)), "ICMP second word 0x90003, want 0x3"},
		{"ICMPData", echo, ICMP(ICMPData([]byte("ping"))), ICMP(ICMPData(nil)), `ICMP data "ping", want ""`},
		{"EchoReply", reply, ICMP(EchoReply(9, 3, []byte("ping"))), ICMP(EchoReply(9, 4, []byte("ping"))), "ICMP second word 0x90003, want 0x90004"},
		{"EchoReply of a request", echo, ICMP(), ICMP(EchoReply(9, 3, []byte("ping"))), "ICMP type 8 code 0, want type 0 code 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := record(func(t testing.TB) { IP(t, tc.pkt, tc.pass) }); len(r.errors) != 0 {
				t.Errorf("the checker that should pass failed: %q", r.errors)
			}
			r := record(func(t testing.TB) { IP(t, tc.pkt, tc.fail) })
			if !r.failedWith(tc.message) {
				t.Errorf("the checker that should fail reported %q, want %q", r.errors, tc.message)
			}
			if !Matches(tc.pkt, tc.pass) || Matches(tc.pkt, tc.fail) {
				t.Errorf("Matches disagrees with the checkers")
			}
		})
	}
}

func TestCheckRejectsBrokenPackets(t *testing.T) {
	good := TCPPacket(netip.AddrPortFrom(host4, 1), netip.AddrPortFrom(stack4, 2), Segment{Flags: SYN})
	badHeader := append([]byte(nil), good...)
	badHeader[8]--
	badTCP := append([]byte(nil), good...)
	badTCP[len(badTCP)-1]++
	for _, tc := range []struct {
		name    string
		check   func(testing.TB)
		message string
	}{
		{"garbage", func(t testing.TB) { IP(t, []byte{0x45, 1, 2}) }, "not an IP packet"},
		{"IPv6 wanted", func(t testing.TB) { IPv6(t, good) }, "an IPv4 packet, want IPv6"},
		{"IPv4 header checksum", func(t testing.TB) { IPv4(t, badHeader) }, "bad IPv4 header checksum"},
		{"TCP checksum", func(t testing.TB) { IPv4(t, badTCP, TCP()) }, "bad TCP checksum"},
	} {
		if r := record(tc.check); !r.failedWith(tc.message) {
			t.Errorf("%s: reported %q, want %q", tc.name, r.errors, tc.message)
		}
	}
	if Matches(badTCP, TCP()) || Matches([]byte{1}) || !Matches(good, TCP()) {
		t.Error("Matches takes a broken packet, or refuses a good one")
	}
}

func TestCheckTCPOnASegmentInHand(t *testing.T) {
	s := &Segment{Seq: 7, Flags: RST}
	if r := record(func(t testing.TB) { CheckTCP(t, s, TCPFlags(RST), TCPSeqNum(7)) }); len(r.errors) != 0 {
		t.Errorf("CheckTCP of a matching segment: %q", r.errors)
	}
	if r := record(func(t testing.TB) { CheckTCP(t, s, TCPFlags(RST|ACK), TCPSeqNum(8)) }); len(r.errors) != 2 {
		t.Errorf("CheckTCP of a segment that differs twice: %q", r.errors)
	}
}
