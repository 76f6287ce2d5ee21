package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tunstack/tunstack/stack"
)

// faultSegments is tunstack_fault_segments_total: the segments each fault
// acted on. The segments faults drop are also in tunstack_tcp_drops_total
// and their RSTs in tunstack_tcp_rsts_sent_total, under the same
// "fault:<type>" reasons.
var faultSegments = prometheus.NewDesc("tunstack_fault_segments_total",
	`TCP segments a fault dropped, held, changed, copied or made up, by reason ("fault:loss", ...).`,
	[]string{"reason"}, nil)

func collectFaults(ch chan<- prometheus.Metric, c *stack.Counters) {
	for reason, n := range c.Faults {
		ch <- prometheus.MustNewConstMetric(faultSegments, prometheus.CounterValue, float64(n), reason)
	}
}
