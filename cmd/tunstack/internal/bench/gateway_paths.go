package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
)

// The gateway bench's namespaces: the server namespace holds the servers
// on gwServerAddr (its lo) and everything that relays to them; each path
// has a client namespace; "outside" only gives the server namespace the
// default route that pasta needs to start, so that even a stray packet
// ends in a namespace of the bench.
const (
	gwKernelServerSide = "10.79.0.1/30" // the kernel path's veth, server side
	gwKernelClientSide = "10.79.0.2/30"
	gwOutsideServer    = "10.79.1.1/30" // pasta copies this address into its client
	gwOutsideGateway   = "10.79.1.2"
	gwOutsideAddr      = gwOutsideGateway + "/30"
	gwRunNetns         = "/run/netns/" // where ip netns keeps the names
)

// gatewayPath is one way from a client namespace to the servers.
type gatewayPath struct {
	name      string
	client    string // the client's namespace
	iperfPort int
	connPort  int // the first of gwConnPortCount
	// pid is the process that carries the path's traffic (the daemon,
	// slirp4netns, pasta), 0 for the kernel's path.
	pid int
	// unavailable says why the path is not measured, "" if it is: the
	// daemon refused its flags, or a program is not installed.
	unavailable string
}

// gatewayEnv is what the gateway bench has made: close undoes it all, the
// last made first, also after a failure or an interrupt.
type gatewayEnv struct {
	self, dir, profileDir string
	prefix                string // of the namespaces' names, unique to this process
	server                string // the server namespace
	undo                  []func() error
}

func (env *gatewayEnv) onClose(f func() error) { env.undo = append(env.undo, f) }

func (env *gatewayEnv) close() error {
	var errs []error
	for i := len(env.undo) - 1; i >= 0; i-- {
		errs = append(errs, env.undo[i]())
	}
	env.undo = nil
	return errors.Join(errs...)
}

// addNamespace makes the namespace PREFIX-role with its lo up.
func (env *gatewayEnv) addNamespace(role string) (string, error) {
	name := env.prefix + "-" + role
	if err := ipCommand("netns", "add", name); err != nil {
		return "", err
	}
	env.onClose(func() error { return ipCommand("netns", "del", name) })
	return name, ipCommand("-n", name, "link", "set", "lo", "up")
}

// ipCommand runs ip with args and returns its output in the error.
func ipCommand(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// addVeth links namespaces a and b with a veth pair, named and addressed
// as given, and sets both ends up.
func addVeth(a, aName, aAddr, b, bName, bAddr string) error {
	for _, args := range [][]string{
		{"link", "add", aName, "netns", a, "type", "veth", "peer", "name", bName, "netns", b},
		{"-n", a, "addr", "add", aAddr, "dev", aName},
		{"-n", b, "addr", "add", bAddr, "dev", bName},
		{"-n", a, "link", "set", aName, "up"},
		{"-n", b, "link", "set", bName, "up"},
	} {
		if err := ipCommand(args...); err != nil {
			return err
		}
	}
	return nil
}

// makeServerSide makes the server namespace, gwServerAddr on its lo, and
// its default route to the outside namespace.
func (env *gatewayEnv) makeServerSide() error {
	server, err := env.addNamespace("server")
	if err != nil {
		return err
	}
	env.server = server
	outside, err := env.addNamespace("outside")
	if err != nil {
		return err
	}
	if err := ipCommand("-n", server, "addr", "add", gwServerAddr+"/32", "dev", "lo"); err != nil {
		return err
	}
	if err := addVeth(server, "gw-outside", gwOutsideServer, outside, "gw-server", gwOutsideAddr); err != nil {
		return err
	}
	return ipCommand("-n", server, "route", "add", "default", "via", gwOutsideGateway)
}

// makePaths makes every path's client namespace and starts what carries
// its traffic, each with its own ports.
func (env *gatewayEnv) makePaths(ctx context.Context) ([]*gatewayPath, error) {
	makers := []struct {
		name  string
		start func(context.Context, *gatewayPath) error
	}{
		{"kernel", env.startKernelPath},
		{"tunstack", env.daemonPath(daemon.EngineNative)},
		{"gvisor", env.daemonPath(daemon.EngineGVisor)},
		{"slirp4netns", env.startSlirp},
		{"pasta", env.startPasta},
	}
	var paths []*gatewayPath
	for i, m := range makers {
		client, err := env.addNamespace(m.name)
		if err != nil {
			return nil, err
		}
		p := &gatewayPath{name: m.name, client: client, iperfPort: gwIperfPort + i, connPort: gwConnPort + gwConnPortCount*i}
		if err := m.start(ctx, p); err != nil {
			return nil, fmt.Errorf("the %s path: %w", m.name, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// startKernelPath routes the client namespace to the server namespace
// over a veth pair: the kernel's own path.
func (env *gatewayEnv) startKernelPath(ctx context.Context, p *gatewayPath) error {
	if err := addVeth(env.server, "gw-kernel", gwKernelServerSide, p.client, "gw-client", gwKernelClientSide); err != nil {
		return err
	}
	via, _, _ := strings.Cut(gwKernelServerSide, "/")
	return ipCommand("-n", p.client, "route", "add", "default", "via", via)
}

// daemonPath starts `tunstack up --gateway` with engine in the server
// namespace, its device and default route in the client's. A daemon
// that refuses the flags (an engine without a gateway) makes the path
// unavailable with its one line; tunstack's own engine must start.
func (env *gatewayEnv) daemonPath(engine string) func(context.Context, *gatewayPath) error {
	return func(ctx context.Context, p *gatewayPath) error {
		spec := daemonSpec{engine: engine, via: env.server, extra: []string{"--gateway", "--gateway-default-route"}}
		if env.profileDir != "" {
			spec.profile = filepath.Join(env.profileDir, "gateway-"+engine+".pprof")
		}
		d, err := startBenchDaemon(ctx, env.self, p.client, env.dir, spec)
		var refused *startError
		if errors.As(err, &refused) && engine != daemon.EngineNative {
			p.unavailable = firstLine(refused.output)
			return nil
		}
		if err != nil {
			return err
		}
		env.onClose(d.stop)
		p.pid = d.cmd.Process.Pid
		return waitDefaultRoute(ctx, p.client, func() bool { return isClosed(d.done) })
	}
}

// startSlirp runs slirp4netns in the server namespace for the client's:
// it makes tap0 there with 10.0.2.100/24 and a default route.
func (env *gatewayEnv) startSlirp(ctx context.Context, p *gatewayPath) error {
	return env.startHelper(ctx, p, "slirp4netns", "slirp4netns", "--configure", "--netns-type=path", gwRunNetns+p.client, "tap0")
}

// startPasta runs pasta in the server namespace for the client's: it
// copies the address and default route of the server namespace's
// interface into the client's. No port is forwarded (-t, -u, -T, -U
// none), as for a container without published ports.
func (env *gatewayEnv) startPasta(ctx context.Context, p *gatewayPath) error {
	return env.startHelper(ctx, p, "pasta", "pasta", "--runas", "0", "--config-net", "--netns", gwRunNetns+p.client,
		"-f", "-q", "-t", "none", "-u", "none", "-T", "none", "-U", "none")
}

// startHelper runs program (apt package pkg) with args in the server
// namespace as p's process and waits for the client's default route. A
// program that is not installed makes the path unavailable.
func (env *gatewayEnv) startHelper(ctx context.Context, p *gatewayPath, pkg, program string, args ...string) error {
	if _, err := exec.LookPath(program); err != nil {
		p.unavailable = fmt.Sprintf("%s not found (apt-get install %s, or run scripts/bench.sh)", program, pkg)
		return nil
	}
	proc, err := startBackground(append([]string{"ip", "netns", "exec", env.server, program}, args...)...)
	if err != nil {
		return err
	}
	env.onClose(proc.stop)
	p.pid = proc.cmd.Process.Pid
	if err := waitDefaultRoute(ctx, p.client, proc.exited); err != nil {
		return fmt.Errorf("%w: %s", err, proc.output())
	}
	return nil
}

// startIperfServer runs iperf3's server on gwServerAddr:port in the
// server namespace and waits until it listens.
func (env *gatewayEnv) startIperfServer(ctx context.Context, port int) error {
	proc, err := startBackground("ip", "netns", "exec", env.server, "iperf3", "-s", "-B", gwServerAddr, "-p", strconv.Itoa(port))
	if err != nil {
		return err
	}
	env.onClose(proc.stop)
	addr := gwServerAddr + ":" + strconv.Itoa(port)
	err = waitFor(ctx, "iperf3's server on "+addr, proc.exited, func() (bool, error) {
		out, err := exec.Command("ip", "netns", "exec", env.server, "ss", "-Htln", "src", addr).Output()
		return strings.TrimSpace(string(out)) != "", err
	})
	if err != nil {
		return fmt.Errorf("%w: %s", err, proc.output())
	}
	return nil
}

// waitDefaultRoute waits until netns has a default route, which each
// path's program sets up once it is ready.
func waitDefaultRoute(ctx context.Context, netns string, exited func() bool) error {
	return waitFor(ctx, "a default route in "+netns, exited, func() (bool, error) {
		out, err := exec.Command("ip", "-n", netns, "-4", "route", "show", "default").Output()
		return strings.TrimSpace(string(out)) != "", err
	})
}

// waitFor polls ready until it says yes, the process behind it exits, or
// benchStartTimeout passes.
func waitFor(ctx context.Context, what string, exited func() bool, ready func() (bool, error)) error {
	deadline := time.Now().Add(benchStartTimeout)
	for {
		ok, err := ready()
		if ok {
			return nil
		}
		if exited() {
			return fmt.Errorf("waiting for %s: the process exited", what)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s within %v (last: %v)", what, benchStartTimeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// backgroundProcess is a server or relay the bench runs until it ends.
type backgroundProcess struct {
	cmd  *exec.Cmd
	out  bytes.Buffer // what it printed, read once it has exited
	done chan struct{}
}

func startBackground(argv ...string) (*backgroundProcess, error) {
	p := &backgroundProcess{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", strings.Join(argv, " "), err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *backgroundProcess) exited() bool { return isClosed(p.done) }

// output is what the process printed, once it has exited.
func (p *backgroundProcess) output() string {
	if !p.exited() {
		return "(still running)"
	}
	return strings.TrimSpace(p.out.String())
}

// stop ends the process with SIGTERM, or SIGKILL if it lingers.
func (p *backgroundProcess) stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	return nil
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// firstLine is the first line of text.
func firstLine(text string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	return line
}
