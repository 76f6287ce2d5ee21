package tests

import (
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
	return scrapeIn(t, d.ns, metricsAddr)
}

// scrapeIn fetches the metrics at addr with curl from inside namespace ns.
func scrapeIn(t *testing.T, ns, addr string) metrics {
	t.Helper()
	r := runIn(t, ns, nil, "curl", "-sS", "--max-time", "10", "http://"+addr+"/metrics")
	if r.err != nil {
		t.Fatalf("curl of the metrics at %s in %s: %v", addr, ns, r)
	}
	m, err := parseMetrics(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sum adds up every series of family: tunstack_tcp_rsts_sent_total over
// its reasons is TCP-MIB's tcpOutRsts.
func (m metrics) sum(family string) float64 {
	var total float64
	for series, v := range m {
		if series == family || strings.HasPrefix(series, family+"{") {
			total += v
		}
	}
	return total
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
	if before[`tunstack_tcp_connections{state="listen"}`] == 0 {
		t.Fatalf("no listener in the metrics: %v", before)
	}

	const gets = 2
	var downloaded float64 // the responses' bytes, headers included
	for range gets {
		r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code} %{size_header} %{size_download}", "http://"+stackIPv4+"/")
		var code, header, body float64
		if _, err := fmt.Sscan(r.stdout, &code, &header, &body); r.err != nil || err != nil || code != 200 {
			t.Fatalf("curl of the page: %v", r)
		}
		downloaded += header + body
	}
	// The stack's end closes after curl's FIN: wait until it is gone.
	var after metrics
	testkit.WaitFor(t, 10*time.Second, "the connections to close", func() (bool, string) {
		after = d.scrape(t)
		return after["tunstack_tcp_curr_estab"] == 0 && after[`tunstack_tcp_connections{state="last_ack"}`] == 0,
			fmt.Sprint(after)
	})
	got := delta(before, after, "tunstack_tcp_passive_opens_total", "tunstack_tcp_active_opens_total",
		"tunstack_tcp_attempt_fails_total", "tunstack_tcp_estab_resets_total", "tunstack_tcp_in_errs_total")
	got["tcpOutRsts"] = after.sum("tunstack_tcp_rsts_sent_total") - before.sum("tunstack_tcp_rsts_sent_total")
	want := map[string]float64{"tunstack_tcp_passive_opens_total": gets, "tunstack_tcp_active_opens_total": 0,
		"tunstack_tcp_attempt_fails_total": 0, "tunstack_tcp_estab_resets_total": 0, "tcpOutRsts": 0,
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
	// Bytes: the pages out and the requests in, inside IP packets that
	// are larger still.
	bytes := delta(before, after, "tunstack_bytes_in_total", "tunstack_bytes_out_total",
		"tunstack_tcp_payload_bytes_in_total", "tunstack_tcp_payload_bytes_out_total")
	if in := bytes["tunstack_tcp_payload_bytes_in_total"]; in < gets*float64(len("GET / HTTP/1.1\r\n\r\n")) || bytes["tunstack_bytes_in_total"] <= in {
		t.Errorf("over %d GETs: %v; want the requests' payload in, inside more IP bytes", gets, bytes)
	}
	if out := bytes["tunstack_tcp_payload_bytes_out_total"]; out < downloaded || bytes["tunstack_bytes_out_total"] <= out {
		t.Errorf("over %d GETs of %v bytes in all: %v; want the responses' bytes out, inside more IP bytes", gets, downloaded, bytes)
	}

	// A closed port: one RST, for the reason closed-rst.
	before = after
	// curl's exit 7: it could not connect.
	if r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "10", "http://"+stackIPv4+":81/"); r.exitCode != 7 {
		t.Fatalf("curl of a closed port: want exit 7 (could not connect): %v", r)
	}
	after = d.scrape(t)
	for name, w := range map[string]float64{
		`tunstack_tcp_rsts_sent_total{reason="closed_rst"}`:       1,
		`tunstack_tcp_drops_total{reason="no_listener"}`:          1,
		"tunstack_tcp_in_segs_total":                              1,
		"tunstack_tcp_passive_opens_total":                        0,
		"tunstack_tcp_attempt_fails_total":                        0,
		`tunstack_tcp_retransmits_total{kind="syn_ack"}`:          0,
		`tunstack_tcp_connections{state="syn_received"}`:          0,
		`tunstack_tcp_connections{state="established"}`:           0,
		"tunstack_tcp_curr_estab":                                 0,
		"tunstack_tcp_estab_resets_total":                         0,
		"tunstack_tcp_challenge_acks_total":                       0,
		`tunstack_tcp_retransmits_total{kind="data"}`:             0,
		`tunstack_tcp_connections{state="time_wait"}`:             0,
		`tunstack_tcp_rsts_sent_total{reason="listen_ack_reset"}`: 0,
	} {
		if g := after[name] - before[name]; g != w {
			t.Errorf("%s grew by %v for a SYN to a closed port, want %v", name, g, w)
		}
	}
	// tcpOutRsts and tcpRetransSegs are sums over labels.
	for family, w := range map[string]float64{"tunstack_tcp_rsts_sent_total": 1, "tunstack_tcp_retransmits_total": 0} {
		if g := after.sum(family) - before.sum(family); g != w {
			t.Errorf("%s grew by %v over its labels for a SYN to a closed port, want %v", family, g, w)
		}
	}

	// The control socket's status reports the same numbers.
	st := d.counters(t)
	if float64(st.MIB.PassiveOpens) != after["tunstack_tcp_passive_opens_total"] || float64(st.MIB.OutRsts) != after.sum("tunstack_tcp_rsts_sent_total") {
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

// TestMetricsOnAnyListenAddress: --metrics takes the addresses an
// exporter's users give: :PORT serves on every address of the device's
// namespace, loopback included, and 127.0.0.1:PORT on loopback alone.
func TestMetricsOnAnyListenAddress(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	everywhere := startDaemon(t, "--metrics", ":9100")
	for _, addr := range []string{"127.0.0.1:9100", "[::1]:9100", kernelIPv4 + ":9100", "[" + kernelIPv6 + "]:9100"} {
		if m := scrapeIn(t, everywhere.ns, addr); m[`tunstack_tcp_connections{state="listen"}`] == 0 {
			t.Errorf("--metrics :9100, scraped at %s: no listener counted: %v", addr, m)
		}
	}
	loopback := startDaemon(t, "--metrics", "127.0.0.1:9100")
	m := scrapeIn(t, loopback.ns, "127.0.0.1:9100")
	if m[`tunstack_tcp_connections{state="listen"}`] == 0 || m.sum("tunstack_build_info") != 1 ||
		m["go_goroutines"] == 0 || m["process_resident_memory_bytes"] == 0 {
		t.Errorf("--metrics 127.0.0.1:9100: want listeners, tunstack_build_info, go_goroutines, process_resident_memory_bytes: %v", m)
	}
	// curl's exit 7: nothing listens on the device's address.
	if r := runIn(t, loopback.ns, nil, "curl", "-sS", "--max-time", "10", "http://"+kernelIPv4+":9100/metrics"); r.exitCode != 7 {
		t.Errorf("--metrics 127.0.0.1:9100 answered on %s: want curl's exit 7 (could not connect): %v", kernelIPv4, r)
	}
}

// TestMetricsFromHost: with --metrics-from-host the metrics listen in the
// namespace tunstack was started in, while the device lives in --netns's:
// a Prometheus where tunstack runs scrapes them on 127.0.0.1, and nothing
// listens on that port in the device's namespace. The "host" here is a
// namespace of the test's, where the daemon starts (ip netns exec).
func TestMetricsFromHost(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	host, device := testkit.AddNamespace(t), testkit.AddNamespace(t)
	d := startDaemonVia(t, []string{"ip", "netns", "exec", host}, device, "--metrics", "127.0.0.1:9100", "--metrics-from-host")
	before := scrapeIn(t, host, "127.0.0.1:9100")
	if r := runIn(t, device, nil, "curl", "-sS", "--max-time", "10", "-o", "/dev/null", "http://"+stackIPv4+"/"); r.err != nil {
		t.Fatalf("curl of the page in the device's namespace: %v", r)
	}
	after := scrapeIn(t, host, "127.0.0.1:9100")
	if g := after["tunstack_tcp_passive_opens_total"] - before["tunstack_tcp_passive_opens_total"]; g != 1 {
		t.Errorf("scraped from the host, tcpPassiveOpens grew by %v over one GET in the device's namespace, want 1", g)
	}
	if r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "10", "http://127.0.0.1:9100/metrics"); r.exitCode != 7 {
		t.Errorf("the metrics answered in the device's namespace too: want curl's exit 7 (could not connect): %v", r)
	}
}

// TestMetricsFromHostRefusesTheDevicesAddress: with --metrics-from-host the
// device's own address is not where tunstack runs: a usage error before
// anything is created.
func TestMetricsFromHostRefusesTheDevicesAddress(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	ns := testkit.NamespaceName(t, "tst")
	r := run(t, nil, tunstackBinary(t), "up", "--netns", ns, "--metrics", kernelIPv4+":9100", "--metrics-from-host")
	if r.exitCode != exitUsage {
		t.Errorf("want exit %d: %v", exitUsage, r)
	}
	if line, ok := oneLine(t, "stderr", r.stderr); ok && !strings.Contains(line, "--metrics") {
		t.Errorf("error %q does not name the flag", line)
	}
	if testkit.NamespaceExists(ns) {
		t.Errorf("namespace %s was created before the flags were checked", ns)
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
	return statusCounters[counterReply](t, d)
}
