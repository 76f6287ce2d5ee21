package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tunstack/tunstack/stack"
)

// memoryScalars are the metrics of the buffer budget and the connection
// limits (stack.MemoryCounters).
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
		counter("tunstack_tcp_budget_recv_drops_total", "Segments in the window dropped because the buffer budget had no room for their data.",
			func(m *stack.MemoryCounters) uint64 { return m.RecvBudgetDrops }),
		counter("tunstack_tcp_ooo_drops_total", "Out-of-order segments dropped over the per-connection bound of out-of-order blocks.",
			func(m *stack.MemoryCounters) uint64 { return m.OOODrops }),
		counter("tunstack_tcp_conn_limit_drops_total", "SYNs dropped because --max-conns connections were open.",
			func(m *stack.MemoryCounters) uint64 { return m.ConnLimitDrops }),
		counter("tunstack_tcp_peer_conn_limit_drops_total", "SYNs dropped because their peer had --max-conns-per-peer connections open.",
			func(m *stack.MemoryCounters) uint64 { return m.PeerConnLimitDrops }),
	}
}
