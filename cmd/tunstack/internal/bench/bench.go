// Package bench compares tunstack's engine with gVisor's netstack on the
// same TUN device: Run creates a network namespace, runs `tunstack up` there
// with each engine in turn (phases.go), drives both with the same clients
// from the kernel's side (wrk, and this package's load generator, which
// runs in the namespace as `tunstack bench client`, client.go), reads the
// daemons' CPU and memory (daemon.go, control.Memstats), and prints one
// table of each figure's median with the ratio tunstack/gVisor
// (table.go).
//
// Figures are printed, never judged: no figure has a threshold. It removes
// its namespace when it ends, also on failure, and every load is bounded
// in count and time.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Sizes are how long and how big a bench run is.
type Sizes struct {
	duration    time.Duration // each rate and bulk measurement
	wrkDuration time.Duration
	wrkConns    int
	connWorkers int
	established int // idle connections for the memory figure
	timeWait    int // TIME-WAIT connections for the memory figure
	// gatewayDuration is each figure of `bench gateway` (iperf3's -t).
	gatewayDuration time.Duration
}

var (
	FullSizes  = Sizes{duration: 4 * time.Second, wrkDuration: 4 * time.Second, wrkConns: 16, connWorkers: 16, established: 10_000, timeWait: 100_000, gatewayDuration: 5 * time.Second}
	QuickSizes = Sizes{duration: 2 * time.Second, wrkDuration: 2 * time.Second, wrkConns: 16, connWorkers: 16, established: 2_000, timeWait: 10_000, gatewayDuration: 3 * time.Second}
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

// Options are what `tunstack bench` was asked to do.
type Options struct {
	Sizes Sizes
	// Runs is how many times each figure is measured; the table shows
	// medians.
	Runs int
	// Engines are the engines to run (daemon.EngineNames), in order.
	Engines []string
	// ProfileDir, if not empty, gets a CPU profile of each daemon.
	ProfileDir string
	// StackIP is the stack's address with the daemon's default flags.
	StackIP string
}

// benchRunner runs the bench's phases in its namespace.
type benchRunner struct {
	opts    Options
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

// workspace is what each bench command starts from: this binary (the
// daemon it runs), a temporary directory that remove removes, and
// profileDir made if it is asked for.
func workspace(profileDir string) (self, dir string, remove func(), err error) {
	self, err = os.Executable()
	if err != nil {
		return "", "", nil, fmt.Errorf("finding this binary: %w", err)
	}
	if profileDir != "" {
		if err := os.MkdirAll(profileDir, 0o755); err != nil {
			return "", "", nil, err
		}
	}
	dir, err = os.MkdirTemp("", "tsbench")
	if err != nil {
		return "", "", nil, err
	}
	return self, dir, func() { os.RemoveAll(dir) }, nil
}

// Run runs the bench: every phase on a fresh daemon of each engine, in a
// namespace of its own, then the table on stdout; progress goes to
// stderr.
func Run(ctx context.Context, opts Options, stdout, stderr io.Writer) (err error) {
	self, dir, removeDir, err := workspace(opts.ProfileDir)
	if err != nil {
		return err
	}
	defer removeDir()
	netns, remove, err := makeNamespace() // forward.go
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, remove()) }()
	r := &benchRunner{opts: opts, self: self, netns: netns, dir: dir, log: stderr, results: newBenchResults()}
	fmt.Fprintf(stderr, "bench: namespace %s, engines %s, %d run(s)\n", netns, strings.Join(opts.Engines, " and "), opts.Runs)
	phases := r.phases()
	for run := range opts.Runs {
		for _, p := range phases[:len(phases)-1] {
			if err := r.runPhase(ctx, p, run); err != nil {
				return err
			}
		}
	}
	// The latency figure's load is half of what gVisor managed in the
	// connection figure, so it runs after every run of that one.
	for run := range opts.Runs {
		if err := r.runPhase(ctx, phases[len(phases)-1], run); err != nil {
			return err
		}
	}
	r.results.writeTable(stdout, newBenchFigures(opts.Sizes), opts.Runs)
	return nil
}

// runPhase runs p once on a fresh daemon of each engine.
func (r *benchRunner) runPhase(ctx context.Context, p benchPhase, run int) error {
	for _, engine := range r.opts.Engines {
		if err := ctx.Err(); err != nil {
			return err
		}
		spec := daemonSpec{engine: engine, serve: p.serve, msl: p.msl}
		if r.opts.ProfileDir != "" {
			spec.profile = filepath.Join(r.opts.ProfileDir, fmt.Sprintf("%s-%s-%d.pprof", engine, p.name, run+1))
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
func (r *benchRunner) noteErrors(engine, what string, res ClientResult) {
	if res.Errors > 0 {
		r.results.note("%s, %s: %d errors, the first: %s", engine, what, res.Errors, res.FirstError)
		r.progress(engine, "%s: %d errors, the first: %s", what, res.Errors, res.FirstError)
	}
}

// client runs the bench client in the namespace with args and returns its
// result.
func (r *benchRunner) client(ctx context.Context, args ...string) (ClientResult, error) {
	return runClientIn(ctx, r.self, r.netns, args...)
}

func (r *benchRunner) clientCommand(ctx context.Context, args ...string) *exec.Cmd {
	return clientCommandIn(ctx, r.self, r.netns, args...)
}

// runClientIn runs self's bench client in netns with args and returns its
// result.
func runClientIn(ctx context.Context, self, netns string, args ...string) (ClientResult, error) {
	out, err := clientCommandIn(ctx, self, netns, args...).Output()
	if err != nil {
		return ClientResult{}, fmt.Errorf("bench client %s: %w: %s", strings.Join(args, " "), err, stderrOf(err))
	}
	return readClientResult(out)
}

func clientCommandIn(ctx context.Context, self, netns string, args ...string) *exec.Cmd {
	full := append([]string{"netns", "exec", netns, self, "bench", "client", "--port-range", benchPortRange, "--tw-reuse"}, args...)
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
	list, err := ParsePorts(ports)
	if err != nil {
		panic(err) // the ranges are constants
	}
	items := make([]string, len(list))
	for i, p := range list {
		items[i] = service + ":" + strconv.Itoa(int(p))
	}
	return strings.Join(items, ",")
}
