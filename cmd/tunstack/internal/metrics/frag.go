package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tunstack/tunstack/stack"
)

// fragMetrics are the metrics of IP reassembly, read from the stack
// collector's snapshot. The fragments dropped are in
// tunstack_ip_drops_total with the others, under "frag_*" reasons.
type fragMetrics struct {
	scalars   []scalarMetric
	discarded *prometheus.Desc
}

func newFragMetrics() fragMetrics {
	metric := func(name, help string, kind prometheus.ValueType, value func(c *stack.FragCounters) uint64) scalarMetric {
		return scalarMetric{prometheus.NewDesc(name, help, nil, nil), kind,
			func(c *stack.Counters) uint64 { return value(&c.Fragments) }}
	}
	counter, gauge := prometheus.CounterValue, prometheus.GaugeValue
	return fragMetrics{
		scalars: []scalarMetric{
			metric("tunstack_ip_frag_fragments_total", "IP fragments received (IP-MIB ipSystemStatsReasmReqds, RFC 4293).", counter,
				func(c *stack.FragCounters) uint64 { return c.Fragments }),
			metric("tunstack_ip_frag_reassembled_total", "IP datagrams reassembled from fragments (IP-MIB ipSystemStatsReasmOKs).", counter,
				func(c *stack.FragCounters) uint64 { return c.Reassembled }),
			metric("tunstack_ip_frag_atomic_total", "IPv6 atomic fragments taken as whole packets (RFC 6946).", counter,
				func(c *stack.FragCounters) uint64 { return c.Atomic }),
			metric("tunstack_ip_frag_time_exceeded_sent_total", `ICMP "fragment reassembly time exceeded" messages sent.`, counter,
				func(c *stack.FragCounters) uint64 { return c.TimeExceeded }),
			metric("tunstack_ip_frag_time_exceeded_limited_total", `ICMP "fragment reassembly time exceeded" messages the rate limit held back.`, counter,
				func(c *stack.FragCounters) uint64 { return c.TimeExceededLimited }),
			metric("tunstack_ip_frag_fragments_out_total", "IP fragments sent: echo replies and UDP datagrams larger than the MTU (IP-MIB ipSystemStatsOutFragCreates).", counter,
				func(c *stack.FragCounters) uint64 { return c.FragmentsOut }),
			metric("tunstack_ip_frag_pending", "Incomplete IP datagrams held now.", gauge,
				func(c *stack.FragCounters) uint64 { return c.Pending }),
			metric("tunstack_ip_frag_memory_bytes", "Bytes held in incomplete IP datagrams now (bounded by --frag-memory).", gauge,
				func(c *stack.FragCounters) uint64 { return c.Memory }),
		},
		discarded: prometheus.NewDesc("tunstack_ip_frag_discarded_total",
			`IP datagrams given up before they were complete, by reason: "frag_overlap" (RFC 5722), "frag_too_big", "frag_inconsistent", "frag_too_many", "frag_timeout", "frag_evicted" (--frag-memory).`,
			[]string{"reason"}, nil),
	}
}

func (m *fragMetrics) describe(ch chan<- *prometheus.Desc) {
	for _, s := range m.scalars {
		ch <- s.desc
	}
	ch <- m.discarded
}

func (m *fragMetrics) collect(ch chan<- prometheus.Metric, c *stack.Counters) {
	for _, s := range m.scalars {
		ch <- prometheus.MustNewConstMetric(s.desc, s.kind, float64(s.value(c)))
	}
	for reason, n := range c.Fragments.Discarded {
		ch <- prometheus.MustNewConstMetric(m.discarded, prometheus.CounterValue, float64(n), LabelValue(reason))
	}
}
