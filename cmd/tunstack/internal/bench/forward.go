package bench

import (
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

	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/services"
	"github.com/tunstack/tunstack/tundev"
)

// The forwarding figures (`tunstack bench forward`, scripts/bench.sh):
// throughput and connections per second to a server on the kernel's side
// of the device, three ways in one run: straight from the kernel's client
// to the server (kernel to kernel), through tunstack's --forward (the
// client talks to the stack, the relay to the server), and through
// Toxiproxy's own server, when one is given, built from the module version
// its client tests use. Every path has its own ports, so that none meets
// another's TIME-WAIT.
const (
	kernelAddr      = "10.77.0.1" // the daemon's default --addr
	fwdServerPorts  = 7601        // source, discard, oneshot: 7601-7603 on the kernel's side
	fwdStackPorts   = 7611        // tunstack's forwards of them
	fwdToxiPorts    = 7621        // Toxiproxy's proxies of them
	toxiproxyAPI    = kernelAddr + ":8474"
	fwdWorkers      = 4  // bulk streams
	fwdConnWorkers  = 16 // connection loops
	fwdServiceCount = 3
)

var fwdServices = [fwdServiceCount]string{"source", "discard", "oneshot"}

// ForwardOptions are what `tunstack bench forward` does.
type ForwardOptions struct {
	Sizes Sizes
	Runs  int
	// Toxiproxy is the path of Toxiproxy's server (its cmd/server); ""
	// leaves its column out.
	Toxiproxy string
	// StackIP is the stack's address, the daemon's default; the kernel's
	// is kernelAddr.
	StackIP string
}

// forwardPath is one way to the kernel's servers.
type forwardPath struct {
	name      string
	target    string
	firstPort int
}

// RunForward measures the forwarding figures and prints their table.
func RunForward(ctx context.Context, opts ForwardOptions, stdout, stderr io.Writer) (err error) {
	self, dir, removeDir, err := workspace("")
	if err != nil {
		return err
	}
	defer removeDir()
	netns, remove, err := makeNamespace()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, remove()) }()
	// The kernel's client reaches the kernel's own servers over the
	// namespace's loopback, down in a new namespace.
	if out, err := exec.Command("ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return fmt.Errorf("setting lo up in %s: %w: %s", netns, err, out)
	}
	r := &benchRunner{self: self, netns: netns, dir: dir, log: stderr, results: newBenchResults()}

	var forwards []string
	for i := range fwdServiceCount {
		forwards = append(forwards, "--forward", fmt.Sprintf("%d=%s:%d", fwdStackPorts+i, kernelAddr, fwdServerPorts+i))
	}
	d, err := startBenchDaemon(ctx, self, netns, dir, daemonSpec{engine: daemon.EngineNative, serve: "", extra: forwards})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.stop()) }()
	for i, name := range fwdServices {
		var ln net.Listener
		if err := tundev.InNetNS(netns, func() (err error) {
			ln, err = net.Listen("tcp4", kernelPort(fwdServerPorts+i))
			return err
		}); err != nil {
			return fmt.Errorf("the kernel's %s server: %w", name, err)
		}
		defer ln.Close()
		go services.Handler(name)(ln)
	}
	paths := []forwardPath{
		{"kernel", kernelAddr, fwdServerPorts},
		{"tunstack", opts.StackIP, fwdStackPorts},
	}
	if opts.Toxiproxy != "" {
		stop, err := startToxiproxy(ctx, opts.Toxiproxy, netns, dir)
		if err != nil {
			return err
		}
		defer stop()
		paths = append(paths, forwardPath{"toxiproxy", kernelAddr, fwdToxiPorts})
	}
	fmt.Fprintf(stderr, "bench forward: namespace %s, %s, %d run(s)\n", netns, pathNames(paths), opts.Runs)
	for range opts.Runs {
		for _, p := range paths {
			if err := r.measurePath(ctx, p, opts.Sizes); err != nil {
				return err
			}
		}
	}
	r.writeForwardTable(stdout, paths, opts.Runs)
	return nil
}

// kernelPort is kernelAddr:port.
func kernelPort(port int) string { return net.JoinHostPort(kernelAddr, strconv.Itoa(port)) }

func pathNames(paths []forwardPath) string {
	var names []string
	for _, p := range paths {
		names = append(names, p.name)
	}
	return strings.Join(names, ", ")
}

// The forwarding figures.
const (
	figFwdDownload = "download (MB/s)"
	figFwdUpload   = "upload (MB/s)"
	figFwdConnect  = "connections/s"
)

// measurePath runs the three figures on one path.
func (r *benchRunner) measurePath(ctx context.Context, p forwardPath, sizes Sizes) error {
	port := func(i int) string { return strconv.Itoa(p.firstPort + i) }
	duration := sizes.duration.String()
	for _, fig := range []struct {
		figure, mode, port string
		workers            int
	}{
		{figFwdDownload, ModeDownload, port(0), fwdWorkers},
		{figFwdUpload, ModeUpload, port(1), fwdWorkers},
		{figFwdConnect, ModeConnect, port(2), fwdConnWorkers},
	} {
		res, err := r.client(ctx, "--mode", fig.mode, "--target", p.target, "--ports", fig.port,
			"--workers", strconv.Itoa(fig.workers), "--duration", duration)
		if err != nil {
			return fmt.Errorf("%s through %s: %w", fig.figure, p.name, err)
		}
		r.noteErrors(p.name, fig.figure, res)
		v := res.perSecond()
		if fig.mode != ModeConnect {
			v = float64(res.Bytes) / res.elapsed().Seconds() / 1e6
		}
		r.results.record(fig.figure, p.name, v)
		r.progress(p.name, "%s: %s", fig.figure, formatFigure(v))
	}
	return nil
}

// writeForwardTable prints each figure's median per path, and tunstack's
// ratio to each other path.
func (r *benchRunner) writeForwardTable(w io.Writer, paths []forwardPath, runs int) {
	fmt.Fprintf(w, "\nforwarding to a server on the kernel's side (median of %d run(s))\n\n", runs)
	fmt.Fprintf(w, "%-18s", "figure")
	for _, p := range paths {
		fmt.Fprintf(w, " %14s", p.name)
	}
	fmt.Fprintf(w, " %18s %18s\n", "tunstack/kernel", "tunstack/toxiproxy")
	for _, fig := range []string{figFwdDownload, figFwdUpload, figFwdConnect} {
		fmt.Fprintf(w, "%-18s", fig)
		for _, p := range paths {
			fmt.Fprintf(w, " %14s", formatFigure(r.results.median(fig, p.name)))
		}
		ts := r.results.median(fig, "tunstack")
		fmt.Fprintf(w, " %18s %18s\n", formatRatio(ts, r.results.median(fig, "kernel")), formatRatio(ts, r.results.median(fig, "toxiproxy")))
	}
	for _, n := range r.results.notes {
		fmt.Fprintln(w, "note: "+n)
	}
}

// startToxiproxy runs Toxiproxy's server in the namespace with a proxy to
// each kernel server and waits until they listen.
func startToxiproxy(ctx context.Context, path, netns, dir string) (stop func(), err error) {
	type proxy struct {
		Name     string `json:"name"`
		Listen   string `json:"listen"`
		Upstream string `json:"upstream"`
		Enabled  bool   `json:"enabled"`
	}
	var proxies []proxy
	for i, name := range fwdServices {
		proxies = append(proxies, proxy{name, kernelPort(fwdToxiPorts + i), kernelPort(fwdServerPorts + i), true})
	}
	config := filepath.Join(dir, "toxiproxy.json")
	b, _ := json.Marshal(proxies)
	if err := os.WriteFile(config, b, 0o644); err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(toxiproxyAPI)
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", netns, path, "-host", host, "-port", port, "-config", config)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stderr, &stderr // it logs to stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting Toxiproxy's server %s: %w", path, err)
	}
	stop = func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
	deadline := time.Now().Add(benchStartTimeout)
	for i := range fwdServiceCount {
		addr := kernelPort(fwdToxiPorts + i)
		for {
			err := tundev.InNetNS(netns, func() error {
				c, err := net.DialTimeout("tcp4", addr, time.Second)
				if err == nil {
					c.Close()
				}
				return err
			})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				stop()
				return nil, fmt.Errorf("Toxiproxy's server did not listen on %s within %v: %v: %s", addr, benchStartTimeout, err, stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return stop, nil
}

// makeNamespace creates the bench's namespace; remove deletes it.
func makeNamespace() (name string, remove func() error, err error) {
	name = fmt.Sprintf("tsbench%d", os.Getpid())
	if err := ipCommand("netns", "add", name); err != nil {
		return "", nil, err
	}
	return name, func() error { return ipCommand("netns", "del", name) }, nil
}
