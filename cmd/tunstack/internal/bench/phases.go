package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/stack/tcp"
)

// phaseConnect measures connections per second, and the daemon's CPU per
// connection, with Workers clients each making one connection after the
// other.
func (r *benchRunner) phaseConnect(ctx context.Context, d *benchDaemon) error {
	sz := r.opts.Sizes
	before, err := d.cpuTime()
	if err != nil {
		return err
	}
	res, err := r.client(ctx, "--mode", ModeConnect, "--ports", benchConnPorts,
		"--duration", sz.duration.String(), "--workers", strconv.Itoa(sz.connWorkers))
	if err != nil {
		return err
	}
	after, err := d.cpuTime()
	if err != nil {
		return err
	}
	r.noteErrors(d.engine, "connections", res)
	if res.Count == 0 {
		return fmt.Errorf("no connection completed (%s)", res.FirstError)
	}
	cpu := float64((after - before).Microseconds()) / float64(res.Count)
	r.results.record(figConnRate, d.engine, res.perSecond())
	r.results.record(figConnCPU, d.engine, cpu)
	r.progress(d.engine, "connections: %.0f/s, %.1f µs CPU each (%d in %v)", res.perSecond(), cpu, res.Count, res.elapsed().Round(time.Millisecond))
	return nil
}

// phaseHTTP runs wrk against the HTTP service, keep-alive and then with a
// new connection per request.
func (r *benchRunner) phaseHTTP(ctx context.Context, d *benchDaemon) error {
	sz := r.opts.Sizes
	url := "http://" + r.opts.StackIP + "/"
	for _, tc := range []struct {
		figure, what string
		extra        []string
	}{
		{figHTTPKeep, "HTTP keep-alive", nil},
		{figHTTPClose, "HTTP Connection: close", []string{"-H", "Connection: close"}},
	} {
		res, err := runWrk(ctx, r.netns, url, sz.wrkDuration, sz.wrkConns, tc.extra...)
		if errors.Is(err, errNoWrk) {
			r.results.note("%s: %v", tc.what, err)
			return nil
		}
		if err != nil {
			return err
		}
		if res.socketErrors != "" || res.non2xx != "" {
			r.results.note("%s, %s: wrk: socket errors %q, non-2xx %q", d.engine, tc.what, res.socketErrors, res.non2xx)
		}
		r.results.record(tc.figure, d.engine, res.requestsPerSec)
		r.progress(d.engine, "%s: %.0f req/s (wrk)", tc.what, res.requestsPerSec)
	}
	return nil
}

// phaseRR measures 1-byte round trips on one connection to echo.
func (r *benchRunner) phaseRR(ctx context.Context, d *benchDaemon) error {
	before, err := d.cpuTime()
	if err != nil {
		return err
	}
	res, err := r.client(ctx, "--mode", ModeRR, "--ports", "7", "--duration", r.opts.Sizes.duration.String())
	if err != nil {
		return err
	}
	after, err := d.cpuTime()
	if err != nil {
		return err
	}
	r.noteErrors(d.engine, "round trips", res)
	if res.Count == 0 {
		return fmt.Errorf("no round trip completed (%s)", res.FirstError)
	}
	cpu := float64((after - before).Microseconds()) / float64(res.Count)
	r.results.record(figRRRate, d.engine, res.perSecond())
	r.results.record(figRRCPU, d.engine, cpu)
	r.progress(d.engine, "round trips: %.0f/s, %.1f µs CPU each", res.perSecond(), cpu)
	return nil
}

// phaseBulk measures throughput each way with one and eight streams.
func (r *benchRunner) phaseBulk(ctx context.Context, d *benchDaemon) error {
	for _, tc := range []struct {
		figure, mode, port string
		streams            int
	}{
		{figUpload1, ModeUpload, "9", 1},
		{figUpload8, ModeUpload, "9", 8},
		{figDownload1, ModeDownload, "19", 1},
		{figDownload8, ModeDownload, "19", 8},
	} {
		res, err := r.client(ctx, "--mode", tc.mode, "--ports", tc.port,
			"--duration", r.opts.Sizes.duration.String(), "--workers", strconv.Itoa(tc.streams))
		if err != nil {
			return err
		}
		what := fmt.Sprintf("%s, streams=%d", tc.mode, tc.streams)
		r.noteErrors(d.engine, what, res)
		mibs := float64(res.Bytes) / (1 << 20) / res.elapsed().Seconds()
		r.results.record(tc.figure, d.engine, mibs)
		r.progress(d.engine, "%s: %.0f MiB/s", what, mibs)
	}
	return nil
}

// settleTimeout bounds how long the memory figures wait for the stack to
// reach the expected count of connections.
const settleTimeout = 10 * time.Second

// waitMemstats polls the daemon's memstats until ready says the stack has
// reached the state to measure, or settleTimeout passes; it returns the
// last reply either way.
func waitMemstats(ctx context.Context, path string, ready func(control.Memstats) bool) (control.Memstats, bool, error) {
	deadline := time.Now().Add(settleTimeout)
	for {
		m, err := control.FetchMemstats(ctx, path)
		if err != nil || ready(m) {
			return m, err == nil, err
		}
		if time.Now().After(deadline) {
			return m, false, nil
		}
		select {
		case <-ctx.Done():
			return m, false, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// phaseEstablished opens the idle connections to the hold service and
// divides the growth of the daemon's memory by their number.
func (r *benchRunner) phaseEstablished(ctx context.Context, d *benchDaemon) error {
	n := r.opts.Sizes.established
	before, err := control.FetchMemstats(ctx, d.control)
	if err != nil {
		return err
	}
	guarded, tripped := d.guardMemory(ctx, benchMemoryLimit)
	cmd := r.clientCommand(guarded, "--mode", ModeHold, "--ports", benchHoldPort,
		"--count", strconv.Itoa(n), "--workers", "16", "--duration", "0s")
	release, err := cmd.StdinPipe()
	if err != nil {
		tripped()
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tripped()
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tripped()
		return err
	}
	// The client keeps its connections until release is closed.
	defer func() {
		release.Close()
		cmd.Wait()
	}()
	line, readErr := bufio.NewReader(stdout).ReadBytes('\n')
	if tripped() {
		r.results.note("%s: stopped opening idle connections: the daemon's resident set passed %d MiB", d.engine, benchMemoryLimit>>20)
	} else if readErr != nil {
		return fmt.Errorf("bench client (hold): %w: %s", readErr, stderr.String())
	} else if res, err := readClientResult(line); err != nil {
		return err
	} else {
		r.noteErrors(d.engine, "idle connections", res)
		n = int(res.Count)
	}
	after, settled, err := waitMemstats(ctx, d.control, func(m control.Memstats) bool { return m.Held >= int64(n) })
	if err != nil {
		return err
	}
	if !settled {
		r.results.note("%s: the hold service had accepted %d of the %d connections the client opened after %v", d.engine, after.Held, n, settleTimeout)
	}
	if after.Held == 0 {
		return errors.New("the hold service holds no connection")
	}
	r.recordMemory(d.engine, figMemEstab, figRSSEstab, before, after, int(after.Held), "idle ESTABLISHED")
	return nil
}

// recordMemory records the growth from before to after divided by count,
// of the Go heap and stacks and of the resident set.
func (r *benchRunner) recordMemory(engine, goFigure, rssFigure string, before, after control.Memstats, count int, what string) {
	goPer := (float64(after.GoMemory()) - float64(before.GoMemory())) / float64(count)
	rssPer := (float64(after.RSS) - float64(before.RSS)) / float64(count)
	r.results.record(goFigure, engine, goPer)
	r.results.record(rssFigure, engine, rssPer)
	r.progress(engine, "%s: %.0f B of Go heap and stacks, %.0f B resident, per connection (%d connections; heap %d→%d, stacks %d→%d, RSS %d→%d)",
		what, goPer, rssPer, count, before.HeapInuse, after.HeapInuse, before.StackInuse, after.StackInuse, before.RSS, after.RSS)
}

// phaseTimeWait makes the TIME-WAIT connections (the stack closes first,
// with a long MSL) and divides the growth of the daemon's memory by their
// number.
func (r *benchRunner) phaseTimeWait(ctx context.Context, d *benchDaemon) error {
	n := r.opts.Sizes.timeWait
	before, err := control.FetchMemstats(ctx, d.control)
	if err != nil {
		return err
	}
	guarded, tripped := d.guardMemory(ctx, benchMemoryLimit)
	res, err := r.client(guarded, "--mode", ModeTimeWait, "--ports", benchTimeWaitPorts,
		"--count", strconv.Itoa(n), "--workers", "32", "--duration", "5m")
	switch {
	case tripped():
		r.results.note("%s: stopped making TIME-WAIT connections: the daemon's resident set passed %d MiB", d.engine, benchMemoryLimit>>20)
		res = ClientResult{}
	case err != nil:
		return err
	default:
		r.noteErrors(d.engine, "TIME-WAIT connections", res)
	}
	after, settled, err := waitMemstats(ctx, d.control, func(m control.Memstats) bool {
		return res.Count > 0 && int64(m.StateCount(tcp.TimeWait)) >= res.Count
	})
	if err != nil {
		return err
	}
	count := after.StateCount(tcp.TimeWait)
	if !settled && res.Count > 0 {
		r.results.note("%s: %d of %d connections in TIME-WAIT after %v", d.engine, count, res.Count, settleTimeout)
	}
	if count == 0 {
		return errors.New("no connection in TIME-WAIT")
	}
	r.recordMemory(d.engine, figMemTimeWait, figRSSTimeWait, before, after, count, "TIME-WAIT")
	return nil
}

// phaseLatency offers half of gVisor's connection rate (the median of the
// connection figure; tunstack's if gVisor did not run) in an open loop and
// records the connect time's median and 99th percentile.
func (r *benchRunner) phaseLatency(ctx context.Context, d *benchDaemon) error {
	rate := r.results.median(figConnRate, daemon.EngineGVisor)
	if rate != rate { // NaN: gVisor did not run
		rate = r.results.median(figConnRate, daemon.EngineNative)
	}
	if rate != rate || rate <= 0 {
		return errors.New("no connection rate measured to derive the load from")
	}
	rate /= 2
	res, err := r.client(ctx, "--mode", ModeLatency, "--ports", benchLatencyPorts,
		"--rate", strconv.FormatFloat(rate, 'f', 0, 64), "--duration", r.opts.Sizes.duration.String())
	if err != nil {
		return err
	}
	r.noteErrors(d.engine, "latency", res)
	if res.Count == 0 {
		return fmt.Errorf("no connection completed (%s)", res.FirstError)
	}
	p50, p99 := time.Duration(res.P50NS), time.Duration(res.P99NS)
	r.results.record(figLatencyP50, d.engine, float64(p50.Nanoseconds())/1e3)
	r.results.record(figLatencyP99, d.engine, float64(p99.Nanoseconds())/1e3)
	r.progress(d.engine, "connect latency at %.0f conn/s offered (%.0f/s started): p50 %v, p99 %v (%d connections)",
		rate, res.Offered, p50, p99, res.Count)
	return nil
}
