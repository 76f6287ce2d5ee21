package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tunstack/tunstack/stack"
)

// memoryScalars are the metrics of the buffer budget (stack.MemoryCounters).
// The segments and SYNs the bounds dropped are in tunstack_tcp_drops_total,
// under the reasons engine_rcv_budget, engine_ooo_limit, conn_limit and
// peer_conn_limit, and nowhere else: one name per counter.
func memoryScalars() []scalarMetric {
	gauge := func(name, help string, value func(m *stack.MemoryCounters) int64) scalarMetric {
		return scalarMetric{prometheus.NewDesc(name, help, nil, nil), prometheus.GaugeValue,
			func(c *stack.Counters) uint64 { return uint64(max(value(&c.Memory), 0)) }}
	}
	counter := func(name, help string, value func(m *stack.MemoryCounters) uint64) scalarMetric {
		return scalarMetric{prometheus.NewDesc(name, help, nil, nil), prometheus.CounterValue,
			func(c *stack.Counters) uint64 { return value(&c.Memory) }}
	}
	return []scalarMetric{
		gauge("tunstack_buffer_budget_bytes", "The buffer budget (--buffer-budget); 0 when there is no bound.",
			func(m *stack.MemoryCounters) int64 { return m.BudgetLimit }),
		gauge("tunstack_buffer_in_use_bytes", "Bytes of buffer storage the connections hold now.",
			func(m *stack.MemoryCounters) int64 { return m.BudgetInUse }),
		gauge("tunstack_buffer_peak_bytes", "The most bytes of buffer storage held so far.",
			func(m *stack.MemoryCounters) int64 { return m.BudgetPeak }),
		counter("tunstack_tcp_budget_window_clamps_total", "Runs of receive windows the buffer budget made smaller than the buffer's room, one per connection and run.",
			func(m *stack.MemoryCounters) uint64 { return m.WindowClamps }),
		counter("tunstack_tcp_budget_send_clamps_total", "Runs during which the buffer budget kept a connection's send buffer below its size.",
			func(m *stack.MemoryCounters) uint64 { return m.SendClamps }),
		counter("tunstack_tcp_budget_autotune_held_total", "Receive-window auto-tuning steps not taken because the buffer budget was under pressure.",
			func(m *stack.MemoryCounters) uint64 { return m.AutotuneHeld }),
		counter("tunstack_tcp_budget_writers_blocked_total", "Writes that waited because the buffer budget held their connection's queue below its size.",
			func(m *stack.MemoryCounters) uint64 { return m.WritersBlocked }),
	}
}
