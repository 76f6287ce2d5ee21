package metrics

import (
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/version"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// everyLabel are counters with a value under labels of every kind: drop
// reasons of each family, retransmission kinds, RST reasons, rate limits,
// states, fragment discards.
func everyLabel() stack.Counters {
	c := memoryCounters()
	c.Drops["engine:rst-outside-window"] = 1
	c.Drops["build:tcp-buffer-too-small"] = 1
	c.Drops["martian-source-loopback"] = 1
	c.Retransmits = map[string]uint64{stack.RetransmitSYNACK: 1}
	c.RSTsByReason = map[string]uint64{"closed-rst": 1, "close-unread-data": 1}
	c.RateLimited = map[string]uint64{"challenge-ack-limit": 1}
	c.States = map[tcp.State]int{tcp.Listen: 1, tcp.SynReceived: 1, tcp.FinWait1: 1, tcp.CloseWait: 1, tcp.TimeWait: 1}
	c.Fragments.Discarded = map[string]uint64{"frag-too-big": 1}
	return c
}

// TestMetricsFollowPrometheusNaming: promlint (client_golang's linter of
// names, units, suffixes and help) finds nothing in anything served, every
// label value of tunstack's own metrics is lowercase snake case, and each
// counter has one name: tcpRetransSegs and tcpOutRsts are the sums of
// tunstack_tcp_retransmits_total and tunstack_tcp_rsts_sent_total, and the
// drops of the memory bounds are tunstack_tcp_drops_total's, not series
// of their own.
func TestMetricsFollowPrometheusNaming(t *testing.T) {
	families, err := Registry(NewCollector(everyLabel, func() uint64 { return 0 })).Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(families).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	snake := regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)
	for _, mf := range families {
		name := mf.GetName()
		for _, gone := range []string{"tunstack_tcp_retrans_segs_total", "tunstack_tcp_out_rsts_total",
			"tunstack_tcp_budget_recv_drops_total", "tunstack_tcp_ooo_drops_total",
			"tunstack_tcp_conn_limit_drops_total", "tunstack_tcp_peer_conn_limit_drops_total"} {
			if name == gone {
				t.Errorf("%s is served: it counts what another name does", name)
			}
		}
		if !strings.HasPrefix(name, "tunstack_") || name == "tunstack_build_info" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if !snake.MatchString(l.GetValue()) {
					t.Errorf("%s{%s=%q}: label value not in lowercase snake case", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}

// TestStandardCollectorsAndBuildInfo: the Go runtime's and the process's
// metrics are served beside tunstack's, and tunstack_build_info carries
// what `tunstack version` says.
func TestStandardCollectorsAndBuildInfo(t *testing.T) {
	lines, body := scrape(t, NewCollector(everyLabel, nil))
	text := string(body)
	for _, family := range []string{"go_goroutines ", "go_memstats_heap_alloc_bytes ", "go_gc_duration_seconds", "process_resident_memory_bytes ", "process_open_fds ", "process_cpu_seconds_total "} {
		if !strings.Contains(text, "\n"+family) {
			t.Errorf("/metrics lacks %s", family)
		}
	}
	info := version.Get()
	commit := info.Revision
	if commit == "" {
		commit = "unknown"
	}
	want := `tunstack_build_info{commit="` + commit + `",goversion="` + info.GoVersion + `",version="` + info.Version + `"} 1`
	if !lines[want] {
		t.Errorf("/metrics lacks %s", want)
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// TestRootPageLinksToMetrics: "/" is a page that links to /metrics, as
// the exporters Prometheus users know have; other paths are not found.
func TestRootPageLinksToMetrics(t *testing.T) {
	m, err := Serve("127.0.0.1:0", "", NewCollector(everyLabel, nil), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	defer m.Close()
	get := func(path string) (int, string, string) {
		resp, err := http.Get("http://" + m.Addr().String() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
	}
	code, contentType, body := get("/")
	if code != http.StatusOK || !strings.HasPrefix(contentType, "text/html") || !strings.Contains(body, `<a href="/metrics">`) {
		t.Errorf("GET /: %d %s\n%s\nwant 200, HTML with a link to /metrics", code, contentType, body)
	}
	if code, _, _ := get("/nothing"); code != http.StatusNotFound {
		t.Errorf("GET /nothing: %d, want 404", code)
	}
}

func TestLabelValue(t *testing.T) {
	for in, want := range map[string]string{
		"CLOSE-WAIT":                "close_wait",
		"FIN-WAIT-1":                "fin_wait_1",
		"engine:rst-outside-window": "engine_rst_outside_window",
		"syn-ack":                   "syn_ack",
		"closed_rst":                "closed_rst",
	} {
		if got := LabelValue(in); got != want {
			t.Errorf("LabelValue(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRSTsWithoutReasonKeepTheSum: an engine that counts RSTs without
// their reasons (gVisor's) has them under "other", so that the sum over
// reasons is still tcpOutRsts.
func TestRSTsWithoutReasonKeepTheSum(t *testing.T) {
	lines, body := scrape(t, NewCollector(func() stack.Counters {
		return stack.Counters{RSTsSent: 5, RSTsByReason: map[string]uint64{"closed-rst": 2}}
	}, nil))
	for _, want := range []string{`tunstack_tcp_rsts_sent_total{reason="closed_rst"} 2`, `tunstack_tcp_rsts_sent_total{reason="other"} 3`} {
		if !lines[want] {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
}
