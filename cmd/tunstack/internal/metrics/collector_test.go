package metrics

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// scrape serves c's metrics on the loopback address, gets them once, and
// returns the lines of the answer and the whole of it.
func scrape(t *testing.T, c *Collector) (lines map[string]bool, body []byte) {
	t.Helper()
	m, err := Serve("127.0.0.1:0", "", c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	defer m.Close()
	resp, err := http.Get("http://" + m.Addr().String() + Path)
	if err != nil {
		t.Fatalf("GET %s: %v", Path, err)
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", Path, resp.Status, err)
	}
	lines = map[string]bool{}
	for line := range strings.Lines(string(body)) {
		lines[strings.TrimSpace(line)] = true
	}
	return lines, body
}

func TestMetricsEndpoint(t *testing.T) {
	counters := stack.Counters{
		PacketsIn: 10, PacketsOut: 9, BytesIn: 1000, BytesOut: 900, PayloadIn: 100, PayloadOut: 90,
		Drops:         map[string]uint64{"tcp-bad-checksum": 2, "engine:rst-outside-window": 1, "not-our-address": 4},
		ChallengeACKs: 5,
		Retransmits:   map[string]uint64{stack.RetransmitSYNACK: 3},
		RSTsByReason:  map[string]uint64{"closed-rst": 7},
		RateLimited:   map[string]uint64{"invalid-ratelimit": 12, "rst-ratelimit": 13},
		MIB: stack.TCPMIB{ActiveOpens: 1, PassiveOpens: 2, AttemptFails: 3, EstabResets: 4, CurrEstab: 5,
			InSegs: 6, OutSegs: 7, RetransSegs: 8, InErrs: 9, OutRsts: 10},
		States: map[tcp.State]int{tcp.Listen: 6, tcp.TimeWait: 2, tcp.CloseWait: 1},
		Fragments: stack.FragCounters{Fragments: 12, Reassembled: 4, Atomic: 1, TimeExceeded: 2, TimeExceededLimited: 3,
			FragmentsOut: 6, Pending: 2, Memory: 3000, Discarded: map[string]uint64{"frag-overlap": 5, "frag-timeout": 0}},
		UDP: stack.UDPCounters{InDatagrams: 21, NoPorts: 22, InErrors: 23, OutDatagrams: 24, RcvbufErrors: 25,
			InCsumErrors: 26, PortUnreachables: 27, PortUnreachablesLimited: 28, ICMPErrors: 29, Sockets: 30},
	}
	lines, body := scrape(t, NewCollector(func() stack.Counters { return counters }, func() uint64 { return 11 }))
	for _, want := range []string{
		"tunstack_packets_in_total 10",
		"tunstack_bytes_in_total 1000",
		"tunstack_bytes_out_total 900",
		"tunstack_tcp_payload_bytes_in_total 100",
		"tunstack_tcp_payload_bytes_out_total 90",
		"tunstack_tcp_active_opens_total 1",
		"tunstack_tcp_passive_opens_total 2",
		"tunstack_tcp_attempt_fails_total 3",
		"tunstack_tcp_estab_resets_total 4",
		"tunstack_tcp_curr_estab 5",
		"# TYPE tunstack_tcp_curr_estab gauge",
		"tunstack_tcp_in_segs_total 6",
		"tunstack_tcp_out_segs_total 7",
		"tunstack_tcp_in_errs_total 9",
		"tunstack_tcp_challenge_acks_total 5",
		`tunstack_tcp_drops_total{reason="tcp_bad_checksum"} 2`,
		`tunstack_tcp_drops_total{reason="engine_rst_outside_window"} 1`,
		`tunstack_ip_drops_total{reason="not_our_address"} 4`,
		`tunstack_tcp_retransmits_total{kind="syn_ack"} 3`,
		`tunstack_tcp_retransmits_total{kind="data"} 0`,
		`tunstack_tcp_rsts_sent_total{reason="closed_rst"} 7`,
		`tunstack_rate_limited_total{limit="invalid_ratelimit"} 12`,
		`tunstack_rate_limited_total{limit="rst_ratelimit"} 13`,
		`tunstack_rate_limited_total{limit="challenge_ack_limit"} 0`,
		`tunstack_tcp_connections{state="listen"} 6`,
		`tunstack_tcp_connections{state="time_wait"} 2`,
		`tunstack_tcp_connections{state="close_wait"} 1`,
		`tunstack_tcp_connections{state="established"} 0`,
		"tunstack_pcap_lost_total 11",
		"tunstack_ip_frag_fragments_total 12",
		"tunstack_ip_frag_reassembled_total 4",
		"tunstack_ip_frag_atomic_total 1",
		"tunstack_ip_frag_time_exceeded_sent_total 2",
		"tunstack_ip_frag_time_exceeded_limited_total 3",
		"tunstack_ip_frag_fragments_out_total 6",
		"tunstack_ip_frag_pending 2",
		"# TYPE tunstack_ip_frag_pending gauge",
		"tunstack_ip_frag_memory_bytes 3000",
		`tunstack_ip_frag_discarded_total{reason="frag_overlap"} 5`,
		`tunstack_ip_frag_discarded_total{reason="frag_timeout"} 0`,
		"tunstack_udp_in_datagrams_total 21",
		"tunstack_udp_no_ports_total 22",
		"tunstack_udp_in_errors_total 23",
		"tunstack_udp_out_datagrams_total 24",
		"tunstack_udp_rcvbuf_errors_total 25",
		"tunstack_udp_in_csum_errors_total 26",
		"tunstack_udp_port_unreachables_sent_total 27",
		"tunstack_udp_port_unreachables_limited_total 28",
		"tunstack_udp_icmp_errors_total 29",
		"tunstack_udp_sockets 30",
		"# TYPE tunstack_udp_sockets gauge",
	} {
		if !lines[want] {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if lines[`tunstack_tcp_connections{state="closed"} 0`] {
		t.Error("/metrics lists connections in CLOSED, a state without a TCB")
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
