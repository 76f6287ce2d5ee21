package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tunstack/tunstack/stack"
)

// udpMetrics are UDP's counters, with the names of Linux's /proc/net/snmp
// Udp: line. The datagrams dropped are also in tunstack_ip_drops_total,
// under "udp-*" reasons.
type udpMetrics struct{ scalars []scalarMetric }

func newUDPMetrics() udpMetrics {
	metric := func(name, help string, kind prometheus.ValueType, value func(c *stack.UDPCounters) uint64) scalarMetric {
		return scalarMetric{prometheus.NewDesc(name, help, nil, nil), kind,
			func(c *stack.Counters) uint64 { return value(&c.UDP) }}
	}
	counter := prometheus.CounterValue
	return udpMetrics{scalars: []scalarMetric{
		metric("tunstack_udp_in_datagrams_total", "UDP datagrams delivered to a socket (UDP-MIB udpInDatagrams, RFC 4113).", counter,
			func(c *stack.UDPCounters) uint64 { return c.InDatagrams }),
		metric("tunstack_udp_no_ports_total", "UDP datagrams to a port no socket is bound to (udpNoPorts), answered with ICMP port unreachable.", counter,
			func(c *stack.UDPCounters) uint64 { return c.NoPorts }),
		metric("tunstack_udp_in_errors_total", "UDP datagrams dropped for other reasons: malformed, bad checksum, a full receive queue (udpInErrors).", counter,
			func(c *stack.UDPCounters) uint64 { return c.InErrors }),
		metric("tunstack_udp_out_datagrams_total", "UDP datagrams sent (udpOutDatagrams).", counter,
			func(c *stack.UDPCounters) uint64 { return c.OutDatagrams }),
		metric("tunstack_udp_rcvbuf_errors_total", "UDP datagrams dropped because their socket's receive queue was full or the buffer budget had no room.", counter,
			func(c *stack.UDPCounters) uint64 { return c.RcvbufErrors }),
		metric("tunstack_udp_in_csum_errors_total", "UDP datagrams with a bad checksum, or an IPv6 one without one (RFC 8200 §8.1).", counter,
			func(c *stack.UDPCounters) uint64 { return c.InCsumErrors }),
		metric("tunstack_udp_port_unreachables_sent_total", "ICMP port unreachable messages sent for UDP to a closed port.", counter,
			func(c *stack.UDPCounters) uint64 { return c.PortUnreachables }),
		metric("tunstack_udp_port_unreachables_limited_total", "ICMP port unreachable messages the ICMP rate limit held back.", counter,
			func(c *stack.UDPCounters) uint64 { return c.PortUnreachablesLimited }),
		metric("tunstack_udp_icmp_errors_total", "ICMP errors received for datagrams of a UDP socket of the stack.", counter,
			func(c *stack.UDPCounters) uint64 { return c.ICMPErrors }),
		metric("tunstack_udp_sockets", "UDP sockets open now.", prometheus.GaugeValue,
			func(c *stack.UDPCounters) uint64 { return c.Sockets }),
	}}
}

func (m *udpMetrics) describe(ch chan<- *prometheus.Desc) {
	for _, s := range m.scalars {
		ch <- s.desc
	}
}

func (m *udpMetrics) collect(ch chan<- prometheus.Metric, c *stack.Counters) {
	for _, s := range m.scalars {
		ch <- prometheus.MustNewConstMetric(s.desc, s.kind, float64(s.value(c)))
	}
}
