package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/flags"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack/tcp"
)

// benchSizes are how long and how big a bench run is.
type benchSizes struct {
	duration    time.Duration // each rate and bulk measurement
	wrkDuration time.Duration
	wrkConns    int
	connWorkers int
	established int // idle connections for the memory figure
	timeWait    int // TIME-WAIT connections for the memory figure
}

var (
	fullSizes  = benchSizes{duration: 4 * time.Second, wrkDuration: 4 * time.Second, wrkConns: 16, connWorkers: 16, established: 10_000, timeWait: 100_000}
	quickSizes = benchSizes{duration: 2 * time.Second, wrkDuration: 2 * time.Second, wrkConns: 16, connWorkers: 16, established: 2_000, timeWait: 10_000}
)

// Service ports of the bench's daemons: each figure has its own, so no
// 4-tuple of one figure meets a TIME-WAIT left by another.
const (
	benchConnPorts     = "7101-7104"
	benchTimeWaitPorts = "7401-7406"
	benchLatencyPorts  = "7501-7504"
	benchHoldPort      = "7301"
	// benchTimeWaitMSL keeps TIME-WAIT connections for the whole memory
	// measurement.
	benchTimeWaitMSL = 10 * time.Minute
	// benchPortRange opens the kernel's ephemeral ports wide, for the
	// many connections of the rate figures, and leaves the ports below
	// to the TIME-WAIT figure, which picks its own (clientTimeWait).
	benchPortRange = "20000 65535"
	// The bench's clients also set tcp_tw_reuse (--tw-reuse): wrk's
	// Connection: close phase leaves the kernel thousands of sockets in
	// TIME-WAIT (the stack's FIN and wrk's close cross), and without
	// reuse the engine measured second would start with half the port
	// range held by the first one's.
	// benchHTTPMSL keeps the stack's TIME-WAIT shorter than the time
	// the kernel takes to come back to a source port for wrk's one
	// destination (every other port of the range, about 22,000
	// connections): a SYN for a 4-tuple in TIME-WAIT is a test of its
	// own, not of the rate.
	benchHTTPMSL = time.Second
	// benchMemoryLimit stops a memory figure's client when the daemon's
	// resident set passes it, to spare the machine.
	benchMemoryLimit = 8 << 30
)

func (c *cli) benchCommand() *cobra.Command {
	var quick bool
	var runs int
	var engines, profileDir string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Compare tunstack's engine with gVisor's netstack on the same TUN",
		Long: `bench creates a network namespace, runs the daemon there with each engine in
turn (--engine native and --engine gvisor) on the same device settings, drives
both with the same clients from the kernel's side (wrk, and tunstack's own
bench client), and prints one table with the ratio tunstack/gVisor of each
figure. It removes the namespace when done. Figures are printed, never judged.`,
		Example: "  sudo tunstack bench --quick\n  sudo scripts/bench.sh",
		Args:    exactArgs(0, "no arguments"),
		RunE: body(func(cmd *cobra.Command, args []string) error {
			if runs < 1 || runs > 9 {
				return usage.Errorf("--runs %d: want 1 to 9", runs)
			}
			var list []string
			for _, e := range strings.Split(engines, ",") {
				name, err := flags.ParseEngine(strings.TrimSpace(e))
				if err != nil {
					return err
				}
				list = append(list, name)
			}
			if err := c.requirePrivileges("tunstack bench", true); err != nil {
				return err
			}
			sizes := fullSizes
			if quick {
				sizes = quickSizes
			}
			return c.bench(cmd.Context(), benchOptions{sizes: sizes, runs: runs, engines: list, profileDir: profileDir})
		}),
	}
	cmd.Flags().BoolVar(&quick, "quick", false, "a short run: shorter measurements and fewer connections")
	cmd.Flags().IntVar(&runs, "runs", 1, "repeat every measurement this many times and print medians")
	cmd.Flags().StringVar(&engines, "engines", daemon.EngineGVisor+","+daemon.EngineNative, "engines to run, in this order")
	cmd.Flags().StringVar(&profileDir, "profile", "", "write a CPU profile of each daemon into this directory")
	cmd.AddCommand(c.benchClientCommand())
	return cmd
}

// benchClientCommand is the load generator the bench runs inside its
// namespace. It is not meant to be run by hand, but can be.
func (c *cli) benchClientCommand() *cobra.Command {
	var cfg clientConfig
	var target, source, ports string
	cmd := &cobra.Command{
		Use:    "client",
		Short:  "The bench's load generator, run inside the bench's namespace",
		Hidden: true,
		Args:   exactArgs(0, "no arguments"),
		RunE: body(func(cmd *cobra.Command, args []string) error {
			cfg.Target, cfg.Source = net.ParseIP(target), net.ParseIP(source)
			if cfg.Target == nil || cfg.Source == nil {
				return usage.Errorf("--target %q / --source %q: want IP addresses", target, source)
			}
			var err error
			if cfg.Ports, err = parsePorts(ports); err != nil {
				return usage.Wrap(err)
			}
			r, err := runClient(cmd.Context(), cfg, c.stdout, c.stdin)
			if err != nil {
				return err
			}
			return json.NewEncoder(c.stdout).Encode(r)
		}),
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.Mode, "mode", modeConnect, "connect, timewait, rr, upload, download, hold or latency")
	fs.StringVar(&target, "target", flags.DefaultIP, "the stack's address")
	fs.StringVar(&source, "source", strings.Split(flags.DefaultAddr, "/")[0], "the kernel's address (timewait binds to it)")
	fs.StringVar(&ports, "ports", "7", "service ports, as 7101,7102 or 7101-7104")
	fs.DurationVar(&cfg.Duration, "duration", 2*time.Second, "how long to load the stack")
	fs.IntVar(&cfg.Workers, "workers", 1, "concurrent connections or streams")
	fs.IntVar(&cfg.Count, "count", 0, "most connections (0: no limit but --duration)")
	fs.Float64Var(&cfg.Rate, "rate", 1000, "connections per second (latency)")
	fs.StringVar(&cfg.PortRange, "port-range", "", `set the namespace's ip_local_port_range first, "LOW HIGH"`)
	fs.BoolVar(&cfg.TWReuse, "tw-reuse", false, "set the namespace's tcp_tw_reuse first: connect may take ports in TIME-WAIT")
	fs.DurationVar(&cfg.HoldWait, "hold", time.Minute, "the longest hold keeps its connections")
	return cmd
}

// benchOptions are what `tunstack bench` was asked to do.
type benchOptions struct {
	sizes      benchSizes
	runs       int
	engines    []string
	profileDir string
}

// benchRunner runs the bench's phases in its namespace.
type benchRunner struct {
	opts    benchOptions
	self    string // this binary
	netns   string
	dir     string // control sockets
	log     io.Writer
	results *benchResults
}

// benchPhase is one group of figures measured on a fresh daemon per engine.
type benchPhase struct {
	name  string
	serve string
	msl   time.Duration
	run   func(ctx context.Context, d *benchDaemon) error
}

func (c *cli) bench(ctx context.Context, opts benchOptions) (err error) {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this binary: %w", err)
	}
	dir, err := os.MkdirTemp("", "tsbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if opts.profileDir != "" {
		if err := os.MkdirAll(opts.profileDir, 0o755); err != nil {
			return err
		}
	}
	netns := fmt.Sprintf("tsbench%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", netns).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %w: %s", netns, err, strings.TrimSpace(string(out)))
	}
	defer func() {
		if out, derr := exec.Command("ip", "netns", "del", netns).CombinedOutput(); derr != nil {
			err = errors.Join(err, fmt.Errorf("ip netns del %s: %w: %s", netns, derr, strings.TrimSpace(string(out))))
		}
	}()
	r := &benchRunner{opts: opts, self: self, netns: netns, dir: dir, log: c.stderr, results: newBenchResults()}
	fmt.Fprintf(c.stderr, "bench: namespace %s, engines %s, %d run(s)\n", netns, strings.Join(opts.engines, " and "), opts.runs)
	phases := r.phases()
	for run := range opts.runs {
		for _, p := range phases[:len(phases)-1] {
			if err := r.runPhase(ctx, p, run); err != nil {
				return err
			}
		}
	}
	// The latency figure's load is half of what gVisor managed in the
	// connection figure, so it runs after every run of that one.
	for run := range opts.runs {
		if err := r.runPhase(ctx, phases[len(phases)-1], run); err != nil {
			return err
		}
	}
	r.results.writeTable(c.stdout, newBenchFigures(opts.sizes), opts.runs)
	return nil
}

// runPhase runs p once on a fresh daemon of each engine.
func (r *benchRunner) runPhase(ctx context.Context, p benchPhase, run int) error {
	for _, engine := range r.opts.engines {
		if err := ctx.Err(); err != nil {
			return err
		}
		spec := daemonSpec{engine: engine, serve: p.serve, msl: p.msl}
		if r.opts.profileDir != "" {
			spec.profile = filepath.Join(r.opts.profileDir, fmt.Sprintf("%s-%s-%d.pprof", engine, p.name, run+1))
		}
		d, err := startBenchDaemon(ctx, r.self, r.netns, r.dir, spec)
		if err != nil {
			return err
		}
		err = p.run(ctx, d)
		if stopErr := d.stop(); err == nil {
			err = stopErr
		}
		if err != nil {
			return fmt.Errorf("%s on %s: %w", p.name, engine, err)
		}
	}
	return nil
}

func (r *benchRunner) progress(engine, format string, args ...any) {
	fmt.Fprintf(r.log, "bench: %-6s %s\n", engine, fmt.Sprintf(format, args...))
}

// noteErrors records a client's errors, which the figures do not hide.
func (r *benchRunner) noteErrors(engine, what string, res clientResult) {
	if res.Errors > 0 {
		r.results.note("%s, %s: %d errors, the first: %s", engine, what, res.Errors, res.FirstError)
		r.progress(engine, "%s: %d errors, the first: %s", what, res.Errors, res.FirstError)
	}
}

// client runs the bench client in the namespace with args and returns its
// result.
func (r *benchRunner) client(ctx context.Context, args ...string) (clientResult, error) {
	cmd := r.clientCommand(ctx, args...)
	out, err := cmd.Output()
	if err != nil {
		return clientResult{}, fmt.Errorf("bench client %s: %w: %s", strings.Join(args, " "), err, stderrOf(err))
	}
	return readClientResult(out)
}

func (r *benchRunner) clientCommand(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{"netns", "exec", r.netns, r.self, "bench", "client", "--port-range", benchPortRange, "--tw-reuse"}, args...)
	return exec.CommandContext(ctx, "ip", full...)
}

func stderrOf(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return strings.TrimSpace(string(exit.Stderr))
	}
	return ""
}

func (r *benchRunner) phases() []benchPhase {
	return []benchPhase{
		{name: "connect", serve: serveList("oneshot", benchConnPorts), run: r.phaseConnect},
		{name: "http", serve: "http:80", msl: benchHTTPMSL, run: r.phaseHTTP},
		{name: "rr", serve: "echo:7", run: r.phaseRR},
		{name: "bulk", serve: "discard:9,source:19", run: r.phaseBulk},
		{name: "established", serve: "hold:" + benchHoldPort, run: r.phaseEstablished},
		{name: "timewait", serve: serveList("oneshot", benchTimeWaitPorts), msl: benchTimeWaitMSL, run: r.phaseTimeWait},
		// Last: it needs gVisor's connection rate.
		{name: "latency", serve: serveList("oneshot", benchLatencyPorts), run: r.phaseLatency},
	}
}

// serveList is --serve for one service on every port of a range "A-B".
func serveList(service, ports string) string {
	list, err := parsePorts(ports)
	if err != nil {
		panic(err) // the ranges are constants
	}
	items := make([]string, len(list))
	for i, p := range list {
		items[i] = service + ":" + strconv.Itoa(int(p))
	}
	return strings.Join(items, ",")
}

// phaseConnect measures connections per second, and the daemon's CPU per
// connection, with Workers clients each making one connection after the
// other.
func (r *benchRunner) phaseConnect(ctx context.Context, d *benchDaemon) error {
	sz := r.opts.sizes
	before, err := d.cpuTime()
	if err != nil {
		return err
	}
	res, err := r.client(ctx, "--mode", modeConnect, "--ports", benchConnPorts,
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
	sz := r.opts.sizes
	url := "http://" + flags.DefaultIP + "/"
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
	res, err := r.client(ctx, "--mode", modeRR, "--ports", "7", "--duration", r.opts.sizes.duration.String())
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
		{figUpload1, modeUpload, "9", 1},
		{figUpload8, modeUpload, "9", 8},
		{figDownload1, modeDownload, "19", 1},
		{figDownload8, modeDownload, "19", 8},
	} {
		res, err := r.client(ctx, "--mode", tc.mode, "--ports", tc.port,
			"--duration", r.opts.sizes.duration.String(), "--workers", strconv.Itoa(tc.streams))
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
	n := r.opts.sizes.established
	before, err := control.FetchMemstats(ctx, d.control)
	if err != nil {
		return err
	}
	guarded, tripped := d.guardMemory(ctx, benchMemoryLimit)
	cmd := r.clientCommand(guarded, "--mode", modeHold, "--ports", benchHoldPort,
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
	n := r.opts.sizes.timeWait
	before, err := control.FetchMemstats(ctx, d.control)
	if err != nil {
		return err
	}
	guarded, tripped := d.guardMemory(ctx, benchMemoryLimit)
	res, err := r.client(guarded, "--mode", modeTimeWait, "--ports", benchTimeWaitPorts,
		"--count", strconv.Itoa(n), "--workers", "32", "--duration", "5m")
	switch {
	case tripped():
		r.results.note("%s: stopped making TIME-WAIT connections: the daemon's resident set passed %d MiB", d.engine, benchMemoryLimit>>20)
		res = clientResult{}
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
	res, err := r.client(ctx, "--mode", modeLatency, "--ports", benchLatencyPorts,
		"--rate", strconv.FormatFloat(rate, 'f', 0, 64), "--duration", r.opts.sizes.duration.String())
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
