package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
)

func TestParseProcStatCPU(t *testing.T) {
	tests := []struct {
		name, stat string
		want       time.Duration
		wantErr    bool
	}{
		{"plain", "1234 (tunstack) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 8 0 100 0", 3 * time.Second, false},
		{"spaces and parentheses in the name", "7 (a b) c)) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 0", 30 * time.Millisecond, false},
		{"no name", "1234 S 1 2", 0, true},
		{"too short", "1 (x) S 1 2 3", 0, true},
		{"not a number", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 u s 0", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseProcStatCPU(tc.stat)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseProcStatCPU(%q) = %v, %v; want %v, error %v", tc.stat, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// wrkReport is wrk 4.2's report for a run with socket errors.
const wrkReport = `Running 2s test @ http://10.77.0.2/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   610.31us  401.96us   8.40ms   93.18%
    Req/Sec    13.34k     1.02k   14.86k    70.00%
  53111 requests in 2.00s, 13.11MB read
  Socket errors: connect 0, read 3, write 0, timeout 0
  Non-2xx or 3xx responses: 2
Requests/sec:  26555.12
Transfer/sec:      6.55MB
`

func TestParseWrk(t *testing.T) {
	got, err := parseWrk(wrkReport)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{requestsPerSec: 26555.12, socketErrors: "connect 0, read 3, write 0, timeout 0", non2xx: "2"}
	if got != want {
		t.Errorf("parseWrk = %+v, want %+v", got, want)
	}
	if _, err := parseWrk("unable to connect to 10.77.0.2:80 Connection refused"); err == nil {
		t.Error("parseWrk of a failed run succeeded")
	}
}

func TestParsePorts(t *testing.T) {
	tests := []struct {
		text    string
		want    []uint16
		wantErr bool
	}{
		{"7", []uint16{7}, false},
		{"7101-7104", []uint16{7101, 7102, 7103, 7104}, false},
		{"9, 19,7401-7402", []uint16{9, 19, 7401, 7402}, false},
		{"0", nil, true},
		{"8-7", nil, true},
		{"x", nil, true},
		{"65536", nil, true},
	}
	for _, tc := range tests {
		got, err := parsePorts(tc.text)
		if (err != nil) != tc.wantErr || !cmp.Equal(got, tc.want) {
			t.Errorf("parsePorts(%q) = %v, %v; want %v, error %v", tc.text, got, err, tc.want, tc.wantErr)
		}
	}
	if got := serveList("oneshot", "7101-7102"); got != "oneshot:7101,oneshot:7102" {
		t.Errorf("serveList = %q", got)
	}
}

func TestPercentile(t *testing.T) {
	var sorted []time.Duration
	for i := 1; i <= 100; i++ {
		sorted = append(sorted, time.Duration(i))
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 50}, {0.99, 99}, {1, 100}, {0, 1}} {
		if got := percentile(sorted, tc.p); got != tc.want {
			t.Errorf("percentile(1..100, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile([]time.Duration{7}, 0.99); got != 7 {
		t.Errorf("percentile of one value = %v", got)
	}
}

func TestBenchResultsMedian(t *testing.T) {
	r := newBenchResults()
	if got := r.median(figConnRate, daemon.EngineNative); !math.IsNaN(got) {
		t.Errorf("median of nothing = %v, want NaN", got)
	}
	for _, v := range []float64{5, 1, 3} {
		r.record(figConnRate, daemon.EngineNative, v)
	}
	if got := r.median(figConnRate, daemon.EngineNative); got != 3 {
		t.Errorf("median of 5 1 3 = %v", got)
	}
	r.record(figConnRate, daemon.EngineNative, 4)
	if got := r.median(figConnRate, daemon.EngineNative); got != 3.5 {
		t.Errorf("median of 5 1 3 4 = %v", got)
	}
}

func TestBenchTable(t *testing.T) {
	r := newBenchResults()
	r.record(figConnRate, daemon.EngineNative, 20000)
	r.record(figConnRate, daemon.EngineGVisor, 10000)
	r.record(figConnCPU, daemon.EngineNative, 12.5)
	r.record(figConnCPU, daemon.EngineGVisor, 50)
	r.record(figMemTimeWait, daemon.EngineNative, 200)
	r.note("gvisor, connections: 3 errors")
	var b strings.Builder
	r.writeTable(&b, newBenchFigures(quickSizes), 3)
	out := b.String()
	// Each row: the label, then unit, tunstack, gVisor, ratio, better.
	for _, want := range []struct {
		label string
		cells []string
	}{
		{"figure", []string{"unit", "tunstack", "gVisor", "tunstack/gVisor", "better"}},
		{"connections/s (1 B each way, stack closes first)", []string{"conn/s", "20,000", "10,000", "2.00", "higher"}},
		{"stack CPU per connection", []string{"µs", "12.5", "50.0", "0.25", "lower"}},
		{"Go heap+stacks per TIME-WAIT conn (10000)", []string{"B", "200", "-", "-", "lower"}},
	} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			label, rest, ok := strings.Cut(strings.TrimSpace(line), want.label)
			if ok && label == "" && cmp.Equal(strings.Fields(rest), want.cells) {
				found = true
			}
		}
		if !found {
			t.Errorf("table lacks the row %q %v:\n%s", want.label, want.cells, out)
		}
	}
	for _, want := range []string{"median of 3 runs", "gvisor, connections: 3 errors"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestFormatFigure(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{math.NaN(), "-"}, {1234567.4, "1,234,567"}, {-1234, "-1,234"}, {999, "999"}, {12.34, "12.3"}, {1.234, "1.23"}, {0, "0.00"},
	} {
		if got := formatFigure(tc.v); got != tc.want {
			t.Errorf("formatFigure(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
