package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// iperfResult is what the gateway bench takes from iperf3's JSON report:
// the receiver's sum, as the server counted it.
type iperfResult struct {
	Mbps        float64 // received, in Mbit/s
	LostPercent float64 // UDP only
	Seconds     float64 // how long the test ran
}

// errIperfBusy: the server still runs the previous test, whose control
// connection a relay has not closed yet.
var errIperfBusy = errors.New("iperf3's server is busy")

// iperfBusyRetries bound how often a test waits for a busy server.
const (
	iperfBusyRetries = 20
	iperfBusyWait    = 250 * time.Millisecond
)

// runIperf runs iperf3's client in netns against gwServerAddr:port for d
// with extra arguments (-P, -u ...).
func runIperf(ctx context.Context, netns string, port int, d time.Duration, extra ...string) (iperfResult, error) {
	args := append([]string{"netns", "exec", netns, "iperf3", "-c", gwServerAddr, "-p", strconv.Itoa(port),
		"-t", strconv.Itoa(max(1, int(d.Seconds()))), "--connect-timeout", "5000", "-J"}, extra...)
	ctx, cancel := context.WithTimeout(ctx, d+time.Minute)
	defer cancel()
	for attempt := 0; ; attempt++ {
		out, err := exec.CommandContext(ctx, "ip", args...).Output()
		res, perr := parseIperf(out)
		if errors.Is(perr, errIperfBusy) && attempt < iperfBusyRetries {
			select {
			case <-ctx.Done():
				return iperfResult{}, ctx.Err()
			case <-time.After(iperfBusyWait):
			}
			continue
		}
		if perr != nil {
			return iperfResult{}, fmt.Errorf("%w (exit: %v: %s)", perr, err, stderrOf(err))
		}
		return res, nil
	}
}

// parseIperf reads iperf3 -J's report (3.12 and later): end.sum_received
// for TCP and, with lost_percent, for UDP; iperf3 before 3.12 has UDP's
// in end.sum. A report with "error" is that error.
func parseIperf(out []byte) (iperfResult, error) {
	type sum struct {
		Seconds       float64  `json:"seconds"`
		BitsPerSecond float64  `json:"bits_per_second"`
		LostPercent   *float64 `json:"lost_percent"`
	}
	var report struct {
		Error string `json:"error"`
		End   struct {
			SumReceived *sum `json:"sum_received"`
			Sum         *sum `json:"sum"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &report); err != nil {
		return iperfResult{}, fmt.Errorf("iperf3's report: %w: %q", err, firstLine(string(out)))
	}
	if report.Error != "" {
		if strings.Contains(report.Error, "busy") {
			return iperfResult{}, fmt.Errorf("%w: %s", errIperfBusy, report.Error)
		}
		return iperfResult{}, fmt.Errorf("iperf3: %s", report.Error)
	}
	s := report.End.SumReceived
	if s == nil || (s.LostPercent == nil && report.End.Sum != nil && report.End.Sum.LostPercent != nil) {
		s = report.End.Sum
	}
	if s == nil || s.Seconds <= 0 {
		return iperfResult{}, errors.New("iperf3's report has no receiver's sum")
	}
	r := iperfResult{Mbps: s.BitsPerSecond / 1e6, Seconds: s.Seconds}
	if s.LostPercent != nil {
		r.LostPercent = *s.LostPercent
	}
	return r, nil
}
