package bench

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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
		got, err := ParsePorts(tc.text)
		if (err != nil) != tc.wantErr || !cmp.Equal(got, tc.want) {
			t.Errorf("ParsePorts(%q) = %v, %v; want %v, error %v", tc.text, got, err, tc.want, tc.wantErr)
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
