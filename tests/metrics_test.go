package tests

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// metricsAddr is where the tests ask the daemon to serve its metrics.
const metricsAddr = kernelIPv4 + ":9100"

// metrics is one scrape of /metrics: value by series, like
// `tunstack_tcp_drops_total{reason="no-listener"}`.
type metrics map[string]float64

// parseMetrics reads Prometheus's text format, comments skipped.
func parseMetrics(text string) (metrics, error) {
	m := metrics{}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cut := strings.LastIndexByte(line, ' ')
		if cut < 0 {
			return nil, fmt.Errorf("metrics line %q has no value", line)
		}
		v, err := strconv.ParseFloat(line[cut+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		m[line[:cut]] = v
	}
	return m, nil
}

// scrape fetches the daemon's metrics with curl from inside its namespace,
// as a Prometheus there would.
func (d *daemon) scrape(t *testing.T) metrics {
	t.Helper()
	r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "10", "http://"+metricsAddr+"/metrics")
	if r.err != nil {
		t.Fatalf("curl of the metrics: %v", r)
	}
	m, err := parseMetrics(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// delta is how much each series grew from before to after.
func delta(before, after metrics, names ...string) map[string]float64 {
	d := map[string]float64{}
	for _, n := range names {
		d[n] = after[n] - before[n]
	}
	return d
}

// TestMetricsCountCurlConnections fetches the page twice and connects to a
// closed port once, and checks that the counters moved by exactly what
// RFC 4022 says they count.
func TestMetricsCountCurlConnections(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t, "--metrics", metricsAddr)
	before := d.scrape(t)
	if before["tunstack_tcp_connections{state=\"LISTEN\"}"] == 0 {
		t.Fatalf("no listener in the metrics: %v", before)
	}

	const gets = 2
	for range gets {
		r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", "http://"+stackIPv4+"/")
		if r.err != nil || r.stdout != "200" {
			t.Fatalf("curl of the page: %v", r)
		}
	}
	// The stack's end closes after curl's FIN: wait until it is gone.
	var after metrics
	testkit.WaitFor(t, 10*time.Second, "the connections to close", func() (bool, string) {
		after = d.scrape(t)
		return after["tunstack_tcp_curr_estab"] == 0 && after[`tunstack_tcp_connections{state="LAST-ACK"}`] == 0,
			fmt.Sprint(after)
	})
	got := delta(before, after, "tunstack_tcp_passive_opens_total", "tunstack_tcp_active_opens_total",
		"tunstack_tcp_attempt_fails_total", "tunstack_tcp_estab_resets_total", "tunstack_tcp_out_rsts_total",
		"tunstack_tcp_in_errs_total")
	want := map[string]float64{"tunstack_tcp_passive_opens_total": gets, "tunstack_tcp_active_opens_total": 0,
		"tunstack_tcp_attempt_fails_total": 0, "tunstack_tcp_estab_resets_total": 0, "tunstack_tcp_out_rsts_total": 0,
		"tunstack_tcp_in_errs_total": 0}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s grew by %v over %d GETs, want %v", name, got[name], gets, w)
		}
	}
	// Each connection: at least SYN, ACK, request, FIN in; SYN-ACK, the
	// page, FIN out.
	if in := after["tunstack_tcp_in_segs_total"] - before["tunstack_tcp_in_segs_total"]; in < 4*gets {
		t.Errorf("tcpInSegs grew by %v over %d GETs, want at least %d", in, gets, 4*gets)
	}
	if out := after["tunstack_tcp_out_segs_total"] - before["tunstack_tcp_out_segs_total"]; out < 3*gets {
		t.Errorf("tcpOutSegs grew by %v over %d GETs, want at least %d", out, gets, 3*gets)
	}
	if after["tunstack_tcp_curr_estab"] != 0 {
		t.Errorf("tcpCurrEstab = %v after the connections closed, want 0", after["tunstack_tcp_curr_estab"])
	}

	// A closed port: one RST, for the reason closed-rst.
	before = after
	// curl's exit 7: it could not connect.
	if r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "10", "http://"+stackIPv4+":81/"); r.exitCode != 7 {
		t.Fatalf("curl of a closed port: want exit 7 (could not connect): %v", r)
	}
	after = d.scrape(t)
	for name, w := range map[string]float64{
		"tunstack_tcp_out_rsts_total":                             1,
		`tunstack_tcp_rsts_sent_total{reason="closed-rst"}`:       1,
		`tunstack_tcp_drops_total{reason="no-listener"}`:          1,
		"tunstack_tcp_in_segs_total":                              1,
		"tunstack_tcp_passive_opens_total":                        0,
		"tunstack_tcp_attempt_fails_total":                        0,
		`tunstack_tcp_retransmits_total{kind="syn-ack"}`:          0,
		`tunstack_tcp_connections{state="SYN-RECEIVED"}`:          0,
		`tunstack_tcp_connections{state="ESTABLISHED"}`:           0,
		"tunstack_tcp_curr_estab":                                 0,
		"tunstack_tcp_estab_resets_total":                         0,
		"tunstack_tcp_retrans_segs_total":                         0,
		"tunstack_tcp_challenge_acks_total":                       0,
		`tunstack_tcp_retransmits_total{kind="data"}`:             0,
		`tunstack_tcp_connections{state="TIME-WAIT"}`:             0,
		`tunstack_tcp_rsts_sent_total{reason="listen-ack-reset"}`: 0,
	} {
		if g := after[name] - before[name]; g != w {
			t.Errorf("%s grew by %v for a SYN to a closed port, want %v", name, g, w)
		}
	}

	// The control socket's status reports the same numbers.
	st := d.counters(t)
	if float64(st.MIB.PassiveOpens) != after["tunstack_tcp_passive_opens_total"] || float64(st.MIB.OutRsts) != after["tunstack_tcp_out_rsts_total"] {
		t.Errorf("status mib %+v disagrees with the metrics %v", st.MIB, after)
	}
}

// TestMetricsListenOnlyInTheNamespace: the metrics socket lives in the
// daemon's namespace, on the kernel's address, and nowhere on the host.
func TestMetricsListenOnlyInTheNamespace(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t, "--metrics", "[fd00:77::1]:9101")
	sockets := kernelSockets(t, d.ns)
	if _, ok := findSocket(sockets, kernelSocket{State: "LISTEN", Local: "[fd00:77::1]:9101"}); !ok {
		t.Errorf("no listener on [fd00:77::1]:9101 in the namespace:%s", describeSockets(sockets))
	}
	r := run(t, nil, "ss", "-tlnH", "sport", "=", ":9101")
	if r.err != nil {
		t.Fatalf("ss on the host: %v", r)
	}
	for _, s := range parseSS(r.stdout) {
		if strings.Contains(s.Local, "fd00:77::1") {
			t.Errorf("the host has a listener of the daemon's: %v", s)
		}
	}
	if r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "10", "http://[fd00:77::1]:9101/metrics"); r.err != nil || !strings.Contains(r.stdout, "tunstack_tcp_curr_estab 0") {
		t.Errorf("curl of the IPv6 metrics: %v", r)
	}
}

// TestMetricsRefuseOtherAddresses: --metrics on anything but the kernel's
// side of the device is a usage error, before anything is created.
func TestMetricsRefuseOtherAddresses(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:9100", "127.0.0.1:9100", stackIPv4 + ":9100", ":9100"} {
		r := runUp(t, nil, "--metrics", addr)
		if r.exitCode != exitUsage {
			t.Errorf("--metrics %s: want exit %d: %v", addr, exitUsage, r)
			continue
		}
		if line, ok := oneLine(t, "stderr", r.stderr); ok && !strings.Contains(line, "--metrics") {
			t.Errorf("--metrics %s: error %q does not name the flag", addr, line)
		}
	}
}

// counterReply is the part of the status reply's counters these tests read.
type counterReply struct {
	Drops map[string]uint64 `json:"drops"`
	MIB   struct {
		PassiveOpens uint64 `json:"passive_opens"`
		CurrEstab    uint64 `json:"curr_estab"`
		InSegs       uint64 `json:"in_segs"`
		OutSegs      uint64 `json:"out_segs"`
		RetransSegs  uint64 `json:"retrans_segs"`
		InErrs       uint64 `json:"in_errs"`
		OutRsts      uint64 `json:"out_rsts"`
	} `json:"mib"`
	SegmentsOut uint64         `json:"segments_out"`
	PacketsIn   uint64         `json:"packets_in"`
	States      map[string]int `json:"states"`
	SynCookies  struct {
		Sent      uint64 `json:"sent"`
		Validated uint64 `json:"validated"`
		Rejected  uint64 `json:"rejected"`
	} `json:"syn_cookies"`
	SYNQueueOverflows    uint64 `json:"syn_queue_overflows"`
	AcceptQueueOverflows uint64 `json:"accept_queue_overflows"`
}

// counters asks the daemon's control socket for its counters.
func (d *daemon) counters(t *testing.T) counterReply {
	t.Helper()
	line, err := statusLine(d.control)
	if err != nil {
		t.Fatal(err)
	}
	var reply struct {
		OK       bool         `json:"ok"`
		Error    string       `json:"error"`
		Counters counterReply `json:"counters"`
	}
	if err := json.Unmarshal(line, &reply); err != nil || !reply.OK {
		t.Fatalf("status reply %q: %v", line, err)
	}
	return reply.Counters
}
