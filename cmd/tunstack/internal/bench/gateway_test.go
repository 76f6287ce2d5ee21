package bench

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// iperfTCPReport is iperf3 3.12's -J report of a TCP test, its end only.
const iperfTCPReport = `{"start": {"version": "iperf 3.12"}, "end": {
  "sum_sent": {"start": 0, "end": 2.000273, "seconds": 2.000273, "bytes": 150470656, "bits_per_second": 601800478.234721, "retransmits": 31, "sender": true},
  "sum_received": {"start": 0, "end": 2.000597, "seconds": 2.000597, "bytes": 146616320, "bits_per_second": 586290272.3537024, "sender": true}}}`

// iperfUDPReport is its report of a UDP test: the receiver lost 76 of
// 35,701 datagrams, which the sender's sum does not know.
const iperfUDPReport = `{"start": {"version": "iperf 3.12"}, "end": {
  "sum": {"seconds": 2.002765, "bytes": 49981400, "bits_per_second": 199914304.84177646, "lost_packets": 76, "packets": 35701, "lost_percent": 0.212879191059074, "sender": true},
  "sum_sent": {"seconds": 2.000113, "bytes": 49981400, "bits_per_second": 199914304.84177646, "lost_packets": 0, "packets": 35701, "lost_percent": 0, "sender": true},
  "sum_received": {"seconds": 2.002765, "bytes": 49875000, "bits_per_second": 199224572.02916965, "lost_packets": 76, "packets": 35701, "lost_percent": 0.212879191059074, "sender": false}}}`

// iperfOldUDPReport is a UDP report of an iperf3 before 3.12, with the
// receiver's loss in end.sum only.
const iperfOldUDPReport = `{"end": {"sum": {"seconds": 3, "bits_per_second": 150000000, "lost_percent": 1.5}}}`

func TestParseIperf(t *testing.T) {
	for _, tc := range []struct {
		name, report string
		want         iperfResult
		wantErr      string
		busy         bool
	}{
		{"tcp: the receiver's sum", iperfTCPReport, iperfResult{Mbps: 586.2902723537024, Seconds: 2.000597}, "", false},
		{"udp: the receiver's rate and loss", iperfUDPReport, iperfResult{Mbps: 199.22457202916965, LostPercent: 0.212879191059074, Seconds: 2.002765}, "", false},
		{"udp before 3.12", iperfOldUDPReport, iperfResult{Mbps: 150, LostPercent: 1.5, Seconds: 3}, "", false},
		{"an error", `{"start": {}, "end": {}, "error": "unable to connect to server: Connection refused"}`, iperfResult{}, "iperf3: unable to connect to server: Connection refused", false},
		{"a busy server", `{"end": {}, "error": "error - the server is busy running a test. try again later"}`, iperfResult{}, "busy", true},
		{"no sum", `{"end": {}}`, iperfResult{}, "no receiver's sum", false},
		{"not JSON", "iperf3: error - unable to connect", iperfResult{}, "iperf3's report", false},
		{"empty", "", iperfResult{}, "iperf3's report", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseIperf([]byte(tc.report))
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Errorf("parseIperf = %+v, %v; want %+v", got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("parseIperf = %+v, %v; want an error with %q", got, err, tc.wantErr)
			}
			if errors.Is(err, errIperfBusy) != tc.busy {
				t.Errorf("errors.Is(%v, errIperfBusy) = %v, want %v", err, !tc.busy, tc.busy)
			}
		})
	}
}

func TestGatewayTable(t *testing.T) {
	r := newBenchResults()
	record := func(path string, tcp1, tcp8, udp, loss, conn float64) {
		for _, v := range []struct {
			key string
			v   float64
		}{{figGwTCP1, tcp1}, {figGwTCP8, tcp8}, {figGwUDP, udp}, {figGwUDPLoss, loss}, {figGwConn, conn}} {
			r.record(v.key, path, v.v)
		}
	}
	record("kernel", 20000, 30000, 200, 0, 10000)
	record("tunstack", 5000, 6000, 199, 0.5, 2500)
	record("tunstack", 4000, 6000, 199, 0.5, 2500) // median of 4000, 5000, 6000
	record("tunstack", 6000, 6000, 199, 0.5, 2500)
	record("pasta", 1000, 12000, 190, 2, 5000)
	r.record(cpuKey(figGwTCP1), "tunstack", 95)
	r.record(cpuKey(figGwConn), "pasta", 61.6)
	r.note("pasta, connections: 2 errors")
	paths := []*gatewayPath{
		{name: "kernel"},
		{name: "tunstack", pid: 1},
		{name: "gvisor", unavailable: "tunstack: --gateway needs --engine native"},
		{name: "pasta", pid: 2},
	}
	var b strings.Builder
	writeGatewayTable(&b, r, paths, 3, 5*time.Second)
	out := b.String()
	rows := map[string][][]string{} // first cell → every row that starts with it
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			rows[f[0]] = append(rows[f[0]], f[1:])
		}
	}
	for _, want := range []struct {
		first string
		cells []string
	}{
		// The figures, then tunstack's ratios, then the CPU.
		{"kernel", []string{"20,000", "30,000", "200", "0.00", "10,000"}},
		{"kernel", []string{"0.25", "0.20", "0.99", "-", "0.25"}},
		{"tunstack", []string{"5,000", "6,000", "199", "0.50", "2,500"}},
		{"tunstack", []string{"95", "-", "-", "-"}},
		{"gvisor", []string{"not", "available:", "tunstack:", "--gateway", "needs", "--engine", "native"}},
		{"pasta", []string{"1,000", "12,000", "190", "2.00", "5,000"}},
		{"pasta", []string{"5.00", "0.50", "1.05", "0.25", "0.50"}},
		{"pasta", []string{"-", "-", "-", "62"}},
	} {
		found := false
		for _, cells := range rows[want.first] {
			found = found || cmp.Equal(cells, want.cells)
		}
		if !found {
			t.Errorf("table lacks the row %s %v:\n%s", want.first, want.cells, out)
		}
	}
	if n := len(rows["gvisor"]); n != 1 {
		t.Errorf("the path that is not available has %d rows, want 1 (in the figures only):\n%s", n, out)
	}
	if n := len(rows["kernel"]); n != 2 {
		t.Errorf("the kernel's path has %d rows, want 2 (no CPU row: it has no process):\n%s", n, out)
	}
	for _, want := range []string{"median of 3 run(s)", "iperf3 -t 5", "-u -b 200M -l 1400", "note: pasta, connections: 2 errors"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteRows(t *testing.T) {
	var b strings.Builder
	writeRows(&b, []tableRow{
		{cells: []string{"path", "TCP", "µs"}},
		{cells: []string{"kernel", "20,000", "1"}},
		{cells: []string{"gvisor"}, rest: "not available: why"},
	})
	want := "path       TCP  µs\n" +
		"kernel  20,000   1\n" +
		"gvisor  not available: why\n"
	if got := b.String(); got != want {
		t.Errorf("writeRows:\n%s\nwant:\n%s", got, want)
	}
}

func TestFirstLine(t *testing.T) {
	for in, want := range map[string]string{
		"tunstack: --gateway needs --engine native\n": "tunstack: --gateway needs --engine native",
		"\n  one\ntwo\n": "one",
		"":               "",
	} {
		if got := firstLine(in); got != want {
			t.Errorf("firstLine(%q) = %q, want %q", in, got, want)
		}
	}
}
