package metrics

import (
	"testing"

	"github.com/tunstack/tunstack/stack"
)

// memoryCounters are counters of the memory bounds, each with its own value.
func memoryCounters() stack.Counters {
	return stack.Counters{
		Drops: map[string]uint64{"conn-limit": 7, "peer-conn-limit": 8, "engine:rcv-budget": 5, "engine:ooo-limit": 6},
		Memory: stack.MemoryCounters{
			BudgetLimit: 128 << 20, BudgetInUse: 1 << 20, BudgetPeak: 100 << 20,
			WindowClamps: 1, SendClamps: 2, AutotuneHeld: 3, WritersBlocked: 4,
			RecvBudgetDrops: 5, OOODrops: 6, ConnLimitDrops: 7, PeerConnLimitDrops: 8,
		},
	}
}

func TestMetricsOfTheMemoryBounds(t *testing.T) {
	lines, body := scrape(t, NewCollector(memoryCounters, nil))
	for _, want := range []string{
		"# TYPE tunstack_buffer_budget_bytes gauge",
		"tunstack_buffer_budget_bytes 1.34217728e+08",
		"tunstack_buffer_in_use_bytes 1.048576e+06",
		"tunstack_buffer_peak_bytes 1.048576e+08",
		"tunstack_tcp_budget_window_clamps_total 1",
		"tunstack_tcp_budget_send_clamps_total 2",
		"tunstack_tcp_budget_autotune_held_total 3",
		"tunstack_tcp_budget_writers_blocked_total 4",
		`tunstack_tcp_drops_total{reason="conn_limit"} 7`,
		`tunstack_tcp_drops_total{reason="peer_conn_limit"} 8`,
		`tunstack_tcp_drops_total{reason="engine_rcv_budget"} 5`,
		`tunstack_tcp_drops_total{reason="engine_ooo_limit"} 6`,
	} {
		if !lines[want] {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
