package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/tunstack/tunstack/stack"
)

func memoryCountersForTest() stack.Counters {
	return stack.Counters{
		Drops: map[string]uint64{"conn-limit": 7, "peer-conn-limit": 8},
		Memory: stack.MemoryCounters{
			BudgetLimit: 128 << 20, BudgetInUse: 1 << 20, BudgetPeak: 100 << 20,
			WindowClamps: 1, SendClamps: 2, AutotuneHeld: 3, WritersBlocked: 4,
			RecvBudgetDrops: 5, OOODrops: 6, ConnLimitDrops: 7, PeerConnLimitDrops: 8,
		},
	}
}

func TestMetricsOfTheMemoryBounds(t *testing.T) {
	c := newStackCollector(func() stack.Counters { return memoryCountersForTest() }, nil)
	m, err := startMetrics("127.0.0.1:0", "", newMetricsRegistry(c), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("startMetrics: %v", err)
	}
	defer m.close()
	resp, err := http.Get("http://" + m.ln.Addr().String() + metricsPath)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s, %v", resp.Status, err)
	}
	lines := map[string]bool{}
	for line := range strings.Lines(string(body)) {
		lines[strings.TrimSpace(line)] = true
	}
	for _, want := range []string{
		"# TYPE tunstack_buffer_budget_bytes gauge",
		"tunstack_buffer_budget_bytes 1.34217728e+08",
		"tunstack_buffer_in_use_bytes 1.048576e+06",
		"tunstack_buffer_peak_bytes 1.048576e+08",
		"tunstack_tcp_budget_window_clamps_total 1",
		"tunstack_tcp_budget_send_clamps_total 2",
		"tunstack_tcp_budget_autotune_held_total 3",
		"tunstack_tcp_budget_writers_blocked_total 4",
		"tunstack_tcp_budget_recv_drops_total 5",
		"tunstack_tcp_ooo_drops_total 6",
		"tunstack_tcp_conn_limit_drops_total 7",
		"tunstack_tcp_peer_conn_limit_drops_total 8",
		`tunstack_tcp_drops_total{reason="conn-limit"} 7`,
		`tunstack_tcp_drops_total{reason="peer-conn-limit"} 8`,
	} {
		if !lines[want] {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
