package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/services"
	"github.com/tunstack/tunstack/tundev"
)

// The gateway figures (`tunstack bench gateway`, scripts/bench.sh): a
// client namespace reaches servers in a server namespace through each way
// a namespace can get its network (gateway_paths.go): the kernel's own
// path over a veth pair, tunstack's --gateway with each engine, slirp4netns
// and pasta. Every path has a client namespace of its own and the same
// clients (iperf3, and the bench client's connect mode) reach the same
// address, gwServerAddr on the server namespace's lo, which is no path's
// own: only a working path gets there. The servers, the gateways'
// relayed sockets, slirp4netns and pasta all live in the server
// namespace; nothing leaves the namespaces the bench creates.
const (
	gwServerAddr = "192.0.2.10"
	// Each path has its own iperf3 server and connection ports, so that
	// none meets another's test in progress or TIME-WAIT.
	gwIperfPort     = 5201 // + the path's index
	gwConnPort      = 7701 // + gwConnPortCount × the path's index
	gwConnPortCount = 8
	gwConnWorkers   = 16
	gwConnMax       = 200_000 // bounds a connection figure beside its duration
	gwStreams       = 8
	// gwUDPRate is the offered UDP load, a rate that every path carries
	// with little loss on a quiet machine, so that received rates and
	// losses compare; gwUDPLength is the datagram size for every path,
	// which iperf3 would otherwise take from the control connection's MSS
	// (65k through pasta's 65520-byte MTU).
	gwUDPRate   = "200M"
	gwUDPLength = 1400
)

// GatewayOptions are what `tunstack bench gateway` does.
type GatewayOptions struct {
	Sizes Sizes
	Runs  int
	// ProfileDir, if not empty, gets a CPU profile of each tunstack
	// daemon over all its runs.
	ProfileDir string
}

// The gateway figures, in the table's order.
const (
	figGwTCP1    = "tcp-1"
	figGwTCP8    = "tcp-8"
	figGwUDP     = "udp"
	figGwUDPLoss = "udp-loss"
	figGwConn    = "conn"
)

// gatewayFigure is one column of the gateway table.
type gatewayFigure struct {
	key, label, unit string
	// cpu: the figure has a CPU column too (not the loss, which is
	// measured with the UDP rate).
	cpu bool
}

var gatewayFigures = []gatewayFigure{
	{figGwTCP1, "TCP 1 stream", "Mbit/s", true},
	{figGwTCP8, fmt.Sprintf("TCP %d streams", gwStreams), "Mbit/s", true},
	{figGwUDP, "UDP at " + gwUDPRate + "bit/s", "Mbit/s recv", true},
	{figGwUDPLoss, "UDP loss", "%", false},
	{figGwConn, "connections", "conn/s", true},
}

// cpuKey is the results key of the CPU of the path's process during a
// figure, in % of one core.
func cpuKey(figure string) string { return figure + "-cpu" }

// RunGateway measures the gateway figures and prints their table.
func RunGateway(ctx context.Context, opts GatewayOptions, stdout, stderr io.Writer) (err error) {
	if _, err := exec.LookPath("iperf3"); err != nil {
		return errors.New("iperf3 not found (apt-get install iperf3, or run scripts/bench.sh)")
	}
	self, dir, removeDir, err := workspace(opts.ProfileDir)
	if err != nil {
		return err
	}
	defer removeDir()
	env := &gatewayEnv{self: self, dir: dir, profileDir: opts.ProfileDir, prefix: fmt.Sprintf("tsgw%d", os.Getpid())}
	defer func() { err = errors.Join(err, env.close()) }()
	if err := env.makeServerSide(); err != nil {
		return err
	}
	paths, err := env.makePaths(ctx)
	if err != nil {
		return err
	}
	if err := env.startServers(ctx, paths); err != nil {
		return err
	}
	r := &benchRunner{self: self, dir: dir, log: stderr, results: newBenchResults()}
	var names []string
	for _, p := range paths {
		if p.unavailable != "" {
			r.progress(p.name, "not available: %s", p.unavailable)
			continue
		}
		names = append(names, p.name)
	}
	fmt.Fprintf(stderr, "bench gateway: server namespace %s, paths %s, %d run(s)\n", env.server, strings.Join(names, ", "), opts.Runs)
	for range opts.Runs {
		for _, p := range paths {
			if p.unavailable != "" {
				continue
			}
			if err := r.measureGatewayPath(ctx, p, opts.Sizes.gatewayDuration); err != nil {
				return err
			}
		}
	}
	writeGatewayTable(stdout, r.results, paths, opts.Runs, opts.Sizes.gatewayDuration)
	return nil
}

// startServers starts an iperf3 server per path and the connection
// figure's one-shot servers in the server namespace.
func (env *gatewayEnv) startServers(ctx context.Context, paths []*gatewayPath) error {
	for _, p := range paths {
		if err := env.startIperfServer(ctx, p.iperfPort); err != nil {
			return err
		}
		for i := range gwConnPortCount {
			var ln net.Listener
			addr := net.JoinHostPort(gwServerAddr, strconv.Itoa(p.connPort+i))
			if err := tundev.InNetNS(env.server, func() (err error) {
				ln, err = net.Listen("tcp4", addr)
				return err
			}); err != nil {
				return fmt.Errorf("the one-shot server on %s: %w", addr, err)
			}
			env.onClose(ln.Close)
			go services.Handler("oneshot")(ln)
		}
	}
	return nil
}

// measureGatewayPath measures every figure once on p, and the CPU that
// p's process spent on each.
func (r *benchRunner) measureGatewayPath(ctx context.Context, p *gatewayPath, d time.Duration) error {
	iperf := []struct {
		figure gatewayFigure
		args   []string
	}{
		{gatewayFigures[0], nil},
		{gatewayFigures[1], []string{"-P", strconv.Itoa(gwStreams)}},
		{gatewayFigures[2], []string{"-u", "-b", gwUDPRate, "-l", strconv.Itoa(gwUDPLength)}},
	}
	for _, fig := range iperf {
		var res iperfResult
		cpu, err := p.cpuDuring(func() (time.Duration, error) {
			var err error
			res, err = runIperf(ctx, p.client, p.iperfPort, d, fig.args...)
			return time.Duration(res.Seconds * float64(time.Second)), err
		})
		if err != nil {
			return fmt.Errorf("iperf3 %s through %s: %w", fig.figure.label, p.name, err)
		}
		r.results.record(fig.figure.key, p.name, res.Mbps)
		r.recordCPU(fig.figure.key, p, cpu)
		lost := ""
		if fig.figure.key == figGwUDP {
			r.results.record(figGwUDPLoss, p.name, res.LostPercent)
			lost = fmt.Sprintf(", %.2f%% lost", res.LostPercent)
		}
		r.progress(p.name, "%s: %s Mbit/s%s%s", fig.figure.label, formatFigure(res.Mbps), lost, cpuNote(cpu))
	}
	var res ClientResult
	cpu, err := p.cpuDuring(func() (time.Duration, error) {
		var err error
		res, err = runClientIn(ctx, r.self, p.client, "--mode", ModeConnect, "--target", gwServerAddr,
			"--ports", fmt.Sprintf("%d-%d", p.connPort, p.connPort+gwConnPortCount-1),
			"--workers", strconv.Itoa(gwConnWorkers), "--count", strconv.Itoa(gwConnMax), "--duration", d.String())
		return res.elapsed(), err
	})
	if err != nil {
		return fmt.Errorf("connections through %s: %w", p.name, err)
	}
	r.noteErrors(p.name, "connections", res)
	r.results.record(figGwConn, p.name, res.perSecond())
	r.recordCPU(figGwConn, p, cpu)
	r.progress(p.name, "connections: %s/s%s", formatFigure(res.perSecond()), cpuNote(cpu))
	return nil
}

// recordCPU records cpu, in % of one core, unless p has no process.
func (r *benchRunner) recordCPU(figure string, p *gatewayPath, cpu float64) {
	if p.pid != 0 {
		r.results.record(cpuKey(figure), p.name, cpu)
	}
}

func cpuNote(cpu float64) string {
	if cpu != cpu {
		return ""
	}
	return fmt.Sprintf(", %.0f%% of a core", cpu)
}

// cpuDuring runs measure, which returns how long its load ran, and
// returns the CPU that p's process spent meanwhile, in % of one core: NaN
// for the kernel's path, which has none.
func (p *gatewayPath) cpuDuring(measure func() (time.Duration, error)) (float64, error) {
	if p.pid == 0 {
		_, err := measure()
		return math.NaN(), err
	}
	before, err := processCPU(p.pid)
	if err != nil {
		return 0, fmt.Errorf("the %s process: %w", p.name, err)
	}
	elapsed, err := measure()
	if err != nil {
		return 0, err
	}
	after, err := processCPU(p.pid)
	if err != nil {
		return 0, fmt.Errorf("the %s process: %w", p.name, err)
	}
	if elapsed <= 0 {
		return math.NaN(), nil
	}
	return 100 * float64(after-before) / float64(elapsed), nil
}
