package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack"
)

// Collector is a prometheus.Collector that reads one snapshot of the
// stack's counters per scrape: the loop pays nothing for the metrics
// between scrapes.
type Collector struct {
	counters     func() stack.Counters
	captureLost  func() uint64 // nil without --pcap
	scalars      []scalarMetric
	drops        *prometheus.Desc
	ipDrops      *prometheus.Desc
	retransmits  *prometheus.Desc
	rsts         *prometheus.Desc
	rateLimited  *prometheus.Desc
	connections  *prometheus.Desc
	captureLostD *prometheus.Desc
	frag         fragMetrics // frag.go
	udp          udpMetrics  // udp.go
	// Gateway, if set, is the gateway's counters (gateway.go).
	Gateway func() *control.GatewayStatus
}

// scalarMetric is one unlabelled metric and how to read it.
type scalarMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(c *stack.Counters) uint64
}

// NewCollector reads counters once per scrape; captureLost, nil without
// --pcap, counts the packets missing from the capture.
func NewCollector(counters func() stack.Counters, captureLost func() uint64) *Collector {
	counter := func(name, help string, value func(c *stack.Counters) uint64) scalarMetric {
		return scalarMetric{prometheus.NewDesc(name, help, nil, nil), prometheus.CounterValue, value}
	}
	mib := func(c *stack.Counters) *stack.TCPMIB { return &c.MIB }
	return &Collector{
		counters:    counters,
		captureLost: captureLost,
		scalars: append([]scalarMetric{
			counter("tunstack_packets_in_total", "IP packets read from the TUN device.",
				func(c *stack.Counters) uint64 { return c.PacketsIn }),
			counter("tunstack_packets_out_total", "IP packets written to the TUN device.",
				func(c *stack.Counters) uint64 { return c.PacketsOut }),
			counter("tunstack_bytes_in_total", "Bytes of the IP packets read from the TUN device.",
				func(c *stack.Counters) uint64 { return c.BytesIn }),
			counter("tunstack_bytes_out_total", "Bytes of the IP packets written to the TUN device.",
				func(c *stack.Counters) uint64 { return c.BytesOut }),
			counter("tunstack_tcp_payload_bytes_in_total", "TCP payload bytes of the segments received, retransmitted and duplicate data included (native engine only).",
				func(c *stack.Counters) uint64 { return c.PayloadIn }),
			counter("tunstack_tcp_payload_bytes_out_total", "TCP payload bytes of the segments sent, retransmissions included (native engine only).",
				func(c *stack.Counters) uint64 { return c.PayloadOut }),
			counter("tunstack_icmp_echo_replies_total", "ICMP and ICMPv6 echo replies sent.",
				func(c *stack.Counters) uint64 { return c.EchoReplies }),
			counter("tunstack_icmp_unreachables_total", "ICMP and ICMPv6 destination unreachables sent for SYNs the gateway could not deliver (its connect failed with no route or no host).",
				func(c *stack.Counters) uint64 { return c.Unreachables }),
			counter("tunstack_events_lost_total", "Trace events a slow subscriber did not take.",
				func(c *stack.Counters) uint64 { return c.EventsLost }),
			counter("tunstack_tcp_challenge_acks_total", "Challenge ACKs sent (RFC 5961 §3.2, §4.2, §5.2).",
				func(c *stack.Counters) uint64 { return c.ChallengeACKs }),
			counter("tunstack_tcp_syncookies_sent_total", "SYN-ACKs sent with a SYN cookie (RFC 4987 §3.6), the half-open queue being full or --syncookies always.",
				func(c *stack.Counters) uint64 { return c.SynCookiesSent }),
			counter("tunstack_tcp_syncookies_validated_total", "ACKs whose SYN cookie validated and made a connection.",
				func(c *stack.Counters) uint64 { return c.SynCookiesValidated }),
			counter("tunstack_tcp_syncookies_rejected_total", "ACKs to a listener that sent cookies whose cookie did not validate (forged, tampered or expired), answered with RST.",
				func(c *stack.Counters) uint64 { return c.SynCookiesRejected }),
			counter("tunstack_tcp_syn_queue_overflows_total", "SYNs that found their listener's half-open queue full: answered with a SYN cookie, or dropped with --syncookies never.",
				func(c *stack.Counters) uint64 { return c.SYNQueueOverflows }),
			counter("tunstack_tcp_accept_queue_overflows_total", "SYNs and cookie ACKs dropped because their listener's accept queue was full (Linux's ListenOverflows).",
				func(c *stack.Counters) uint64 { return c.AcceptQueueOverflows }),
			counter("tunstack_tcp_active_opens_total", "TCP-MIB tcpActiveOpens: transitions from CLOSED to SYN-SENT (RFC 4022).",
				func(c *stack.Counters) uint64 { return mib(c).ActiveOpens }),
			counter("tunstack_tcp_passive_opens_total", "TCP-MIB tcpPassiveOpens: transitions from LISTEN to SYN-RECEIVED (RFC 4022).",
				func(c *stack.Counters) uint64 { return mib(c).PassiveOpens }),
			counter("tunstack_tcp_attempt_fails_total", "TCP-MIB tcpAttemptFails: transitions to CLOSED from SYN-SENT or SYN-RECEIVED, and from SYN-RECEIVED to LISTEN (RFC 4022).",
				func(c *stack.Counters) uint64 { return mib(c).AttemptFails }),
			counter("tunstack_tcp_estab_resets_total", "TCP-MIB tcpEstabResets: transitions to CLOSED from ESTABLISHED or CLOSE-WAIT (RFC 4022).",
				func(c *stack.Counters) uint64 { return mib(c).EstabResets }),
			{prometheus.NewDesc("tunstack_tcp_curr_estab", "TCP-MIB tcpCurrEstab: connections in ESTABLISHED or CLOSE-WAIT (RFC 4022).", nil, nil),
				prometheus.GaugeValue, func(c *stack.Counters) uint64 { return mib(c).CurrEstab }},
			counter("tunstack_tcp_in_segs_total", "TCP-MIB tcpInSegs: segments received, those in error included (RFC 4022).",
				func(c *stack.Counters) uint64 { return mib(c).InSegs }),
			counter("tunstack_tcp_out_segs_total", "TCP-MIB tcpOutSegs: segments sent, except those with only retransmitted octets (RFC 4022).",
				func(c *stack.Counters) uint64 { return mib(c).OutSegs }),
			counter("tunstack_tcp_in_errs_total", "TCP-MIB tcpInErrs: segments received in error: bad checksum, bad header (RFC 4022).",
				func(c *stack.Counters) uint64 { return mib(c).InErrs }),
		}, memoryScalars()...), // memory.go
		drops: prometheus.NewDesc("tunstack_tcp_drops_total",
			`TCP segments dropped, by reason: "tcp_*" malformed, "no_listener", "syn_queue_full", "accept_queue_full", "conn_limit", "peer_conn_limit", "build_*", "engine_<code>" discarded by the engine.`,
			[]string{"reason"}, nil),
		ipDrops: prometheus.NewDesc("tunstack_ip_drops_total",
			`Packets dropped before TCP, by reason: "ip_*", "icmp_*", "not_our_address", "martian_*", "frag_*" (IP fragments), "udp_*" (UDP), "unknown_protocol", "link_read", "link_write".`,
			[]string{"reason"}, nil),
		retransmits: prometheus.NewDesc("tunstack_tcp_retransmits_total",
			"TCP segments sent again, by kind: syn, syn_ack, data, fin, fast (fast retransmit), tlp (tail loss probe), probe (zero-window probe). TCP-MIB tcpRetransSegs (RFC 4022) is the sum without probe.",
			[]string{"kind"}, nil),
		rsts: prometheus.NewDesc("tunstack_tcp_rsts_sent_total",
			`RST segments sent, by the reason code of the decision ("closed_rst" for a closed port). TCP-MIB tcpOutRsts (RFC 4022) is the sum.`,
			[]string{"reason"}, nil),
		rateLimited: prometheus.NewDesc("tunstack_rate_limited_total",
			`Answers held back, by the flag of the limit that held them: "invalid_ratelimit" and "challenge_ack_limit" (ACKs to unacceptable segments, per connection and stack-wide), "rst_ratelimit" (RSTs for closed ports), "icmp_ratelimit" (echo replies).`,
			[]string{"limit"}, nil),
		connections: prometheus.NewDesc("tunstack_tcp_connections",
			"TCP connections in each state now (syn_sent, syn_received, established, fin_wait_1, ..., time_wait); each listener counts once in listen.",
			[]string{"state"}, nil),
		captureLostD: prometheus.NewDesc("tunstack_pcap_lost_total",
			"Packets missing from the --pcap file because the disk fell behind.", nil, nil),
		frag: newFragMetrics(),
		udp:  newUDPMetrics(),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.scalars {
		ch <- m.desc
	}
	ch <- c.drops
	ch <- c.ipDrops
	ch <- c.retransmits
	ch <- c.rsts
	ch <- c.rateLimited
	ch <- c.connections
	c.frag.describe(ch)
	c.udp.describe(ch)
	if c.Gateway != nil {
		describeGateway(ch)
	}
	ch <- faultSegments
	if c.captureLost != nil {
		ch <- c.captureLostD
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	counters := c.counters()
	if c.Gateway != nil {
		collectGateway(ch, c.Gateway())
	}
	for _, m := range c.scalars {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, float64(m.value(&counters)))
	}
	for reason, n := range counters.Drops {
		desc := c.ipDrops
		if isTCPDrop(reason) {
			desc = c.drops
		}
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(n), LabelValue(reason))
	}
	for _, kind := range stack.RetransmitKinds {
		ch <- prometheus.MustNewConstMetric(c.retransmits, prometheus.CounterValue, float64(counters.Retransmits[kind]), LabelValue(kind))
	}
	var byReason uint64
	for reason, n := range counters.RSTsByReason {
		ch <- prometheus.MustNewConstMetric(c.rsts, prometheus.CounterValue, float64(n), LabelValue(reason))
		byReason += n
	}
	if counters.RSTsSent > byReason {
		// gVisor counts RSTs without reasons: the sum stays tcpOutRsts.
		ch <- prometheus.MustNewConstMetric(c.rsts, prometheus.CounterValue, float64(counters.RSTsSent-byReason), "other")
	}
	for _, limit := range stack.RateLimits {
		ch <- prometheus.MustNewConstMetric(c.rateLimited, prometheus.CounterValue, float64(counters.RateLimited[limit]), LabelValue(limit))
	}
	for _, st := range control.ConnectionStates {
		ch <- prometheus.MustNewConstMetric(c.connections, prometheus.GaugeValue, float64(counters.States[st]), LabelValue(st.String()))
	}
	c.frag.collect(ch, &counters)
	c.udp.collect(ch, &counters)
	collectFaults(ch, &counters) // fault.go
	if c.captureLost != nil {
		ch <- prometheus.MustNewConstMetric(c.captureLostD, prometheus.CounterValue, float64(c.captureLost()))
	}
}

// isTCPDrop tells the drop reasons of TCP segments from those of packets
// that never reached TCP.
func isTCPDrop(reason string) bool {
	for _, prefix := range []string{"tcp-", "engine:", "build:", "fault:", "forward:"} {
		if strings.HasPrefix(reason, prefix) {
			return true
		}
	}
	return reason == "no-listener" || reason == "syn-queue-full" || reason == "accept-queue-full" ||
		reason == "conn-limit" || reason == "peer-conn-limit" || reason == "syn-held" || reason == "admission-stale"
}
