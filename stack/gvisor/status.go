package gvisor

import (
	"net/netip"
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	gstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	gtcp "gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// Counters returns what gVisor's statistics and the link counted, in the
// native stack's terms, as far as gVisor counts the same thing: Drops
// holds gVisor's drop counters that have no native equivalent under names
// of their own ("gvisor:..."), when not zero; Retransmits has fast
// retransmits and puts all others under "data"; the SYN cookie counters
// are gVisor's ListenOverflowSynCookie*, and its listen overflows stay
// among the drops; UDP's PortUnreachables counts every destination
// unreachable gVisor sent, and its ICMPErrors and Sockets stay zero;
// RSTsByReason has the gateway's refusals only (gateway.go), and its
// drops are among Drops under the native stack's names;
// ChallengeACKs and EventsLost stay zero.
func (s *Stack) Counters() stack.Counters {
	st := s.gv.Stats()
	drops := map[string]uint64{}
	for name, n := range map[string]uint64{
		"link-read":                    s.link.readErrors.Load(),
		"link-write":                   s.link.writeErrors.Load(),
		"unknown-protocol":             s.link.unknownProtocol.Load(),
		reasonNotOurAddress:            s.link.notOurAddress.Load(),
		"gvisor:ip-malformed":          st.IP.MalformedPacketsReceived.Value(),
		"gvisor:ip-invalid-dst":        st.IP.InvalidDestinationAddressesReceived.Value(),
		"gvisor:tcp-invalid-segment":   st.TCP.InvalidSegmentsReceived.Value(),
		"gvisor:tcp-checksum":          st.TCP.ChecksumErrors.Value(),
		"gvisor:listen-overflow-syn":   st.TCP.ListenOverflowSynDrop.Value(),
		"gvisor:listen-overflow-ack":   st.TCP.ListenOverflowAckDrop.Value(),
		"gvisor:forward-max-in-flight": st.TCP.ForwardMaxInFlightDrop.Value(),
		"gvisor:dropped-packets":       st.DroppedPackets.Value(),
	} {
		if n != 0 {
			drops[name] = n
		}
	}
	rsts := s.reasons.snapshot(drops) // the gateway's: gateway.go
	retransmits := make(map[string]uint64, len(stack.RetransmitKinds))
	for _, kind := range stack.RetransmitKinds {
		retransmits[kind] = 0
	}
	// gVisor counts fast retransmits apart; the rest are the timer's.
	fast := st.TCP.FastRetransmit.Value()
	retransmits[stack.RetransmitFast] = fast
	retransmits[stack.RetransmitData] = st.TCP.Retransmits.Value() - min(fast, st.TCP.Retransmits.Value())
	states := map[tcp.State]int{}
	for _, ep := range s.tcpEndpoints() {
		states[RFCState(gtcp.EndpointState(ep.State()))]++
	}
	return stack.Counters{
		PacketsIn:    s.link.packetsIn.Load(),
		PacketsOut:   s.link.packetsOut.Load(),
		BytesIn:      s.link.bytesIn.Load(),
		BytesOut:     s.link.bytesOut.Load(),
		SegmentsIn:   st.TCP.ValidSegmentsReceived.Value(),
		SegmentsOut:  st.TCP.SegmentsSent.Value(),
		RSTsSent:     st.TCP.ResetsSent.Value(),
		EchoReplies:  st.ICMP.V4.PacketsSent.EchoReply.Value() + st.ICMP.V6.PacketsSent.EchoReply.Value(),
		Drops:        drops,
		RSTsByReason: rsts,
		Retransmits:  retransmits,
		States:       states,

		UDP: stack.UDPCounters{
			InDatagrams:      st.UDP.PacketsReceived.Value(),
			NoPorts:          st.UDP.UnknownPortErrors.Value(),
			InErrors:         st.UDP.MalformedPacketsReceived.Value() + st.UDP.ChecksumErrors.Value() + st.UDP.ReceiveBufferErrors.Value(),
			OutDatagrams:     st.UDP.PacketsSent.Value(),
			RcvbufErrors:     st.UDP.ReceiveBufferErrors.Value(),
			InCsumErrors:     st.UDP.ChecksumErrors.Value(),
			PortUnreachables: st.ICMP.V4.PacketsSent.DstUnreachable.Value() + st.ICMP.V6.PacketsSent.DstUnreachable.Value(),
		},

		SynCookiesSent:      st.TCP.ListenOverflowSynCookieSent.Value(),
		SynCookiesValidated: st.TCP.ListenOverflowSynCookieRcvd.Value(),
		SynCookiesRejected:  st.TCP.ListenOverflowInvalidSynCookieRcvd.Value(),
		MIB: stack.TCPMIB{
			ActiveOpens:  st.TCP.ActiveConnectionOpenings.Value(),
			PassiveOpens: st.TCP.PassiveConnectionOpenings.Value(),
			AttemptFails: st.TCP.FailedConnectionAttempts.Value(),
			EstabResets:  st.TCP.EstablishedResets.Value(),
			CurrEstab:    st.TCP.CurrentEstablished.Value(),
			InSegs:       st.TCP.ValidSegmentsReceived.Value() + st.TCP.InvalidSegmentsReceived.Value(),
			OutSegs:      st.TCP.SegmentsSent.Value() - min(st.TCP.Retransmits.Value(), st.TCP.SegmentsSent.Value()),
			RetransSegs:  st.TCP.Retransmits.Value(),
			InErrs:       st.TCP.InvalidSegmentsReceived.Value(),
			OutRsts:      st.TCP.ResetsSent.Value(),
		},
	}
}

// SubscribeKinds is Subscribe: no event of any kind comes.
func (s *Stack) SubscribeKinds(buffer int, kinds ...stack.EventKind) (<-chan stack.Event, func()) {
	return s.Subscribe(buffer)
}

// Subscribe returns a channel that never carries an event (gVisor reports
// none of the kind the native stack does) and a function that closes it.
func (s *Stack) Subscribe(buffer int) (<-chan stack.Event, func()) {
	ch := make(chan stack.Event)
	var once sync.Once
	return ch, func() { once.Do(func() { close(ch) }) }
}

// Connections returns a snapshot of gVisor's TCP endpoints: listeners,
// connections and TIME-WAIT. Only the 4-tuple, the state and the RTT
// estimates are filled; States holds the current state alone.
func (s *Stack) Connections() []stack.ConnInfo {
	eps := s.tcpEndpoints()
	infos := make([]stack.ConnInfo, 0, len(eps))
	for _, ep := range eps {
		info, ok := ep.Info().(*gstack.TransportEndpointInfo)
		if !ok {
			continue
		}
		state := RFCState(gtcp.EndpointState(ep.State()))
		status := tcp.Status{ID: endpointID(info), State: state}
		var ti tcpip.TCPInfoOption
		if ep.GetSockOpt(&ti) == nil {
			status.SRTT, status.RTTVar, status.RTO = ti.RTT, ti.RTTVar, ti.RTO
		}
		infos = append(infos, stack.ConnInfo{Status: status, States: []tcp.State{state}})
	}
	return infos
}

// endpointID is the endpoint's 4-tuple; a listener's missing peer stays
// the zero AddrPort and a listener on all addresses shows the unspecified
// address of its family.
func endpointID(info *gstack.TransportEndpointInfo) tcp.ID {
	local := netipAddr(info.ID.LocalAddress)
	if !local.IsValid() {
		local = netip.IPv4Unspecified()
		if info.NetProto == ipv6.ProtocolNumber {
			local = netip.IPv6Unspecified()
		}
	}
	id := tcp.ID{Local: netip.AddrPortFrom(local, info.ID.LocalPort)}
	if remote := netipAddr(info.ID.RemoteAddress); remote.IsValid() {
		id.Remote = netip.AddrPortFrom(remote, info.ID.RemotePort)
	}
	return id
}

// RFCState names gVisor's endpoint state as an RFC 9293 state. gVisor's
// own internal states map to the RFC state they stand for.
func RFCState(st gtcp.EndpointState) tcp.State {
	switch st {
	case gtcp.StateListen:
		return tcp.Listen
	case gtcp.StateSynSent, gtcp.StateConnecting:
		return tcp.SynSent
	case gtcp.StateSynRecv:
		return tcp.SynReceived
	case gtcp.StateEstablished:
		return tcp.Established
	case gtcp.StateFinWait1:
		return tcp.FinWait1
	case gtcp.StateFinWait2:
		return tcp.FinWait2
	case gtcp.StateCloseWait:
		return tcp.CloseWait
	case gtcp.StateClosing:
		return tcp.Closing
	case gtcp.StateLastAck:
		return tcp.LastAck
	case gtcp.StateTimeWait:
		return tcp.TimeWait
	}
	return tcp.Closed
}
