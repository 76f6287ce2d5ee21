// Package daemon runs what `tunstack up` runs and `tunstack demo` starts:
// the TUN device, with --impair's impairment and --pcap's capture around
// it; the stack of the engine --engine picks; the built-in services; the
// log of connections; the memory releaser; the metrics server; and last
// the control socket, whose presence means ready. Stop ends it all in the
// reverse order, the socket's removal last.
//
// It takes a Config that package flags has checked and checks nothing
// again; it parses no flags and does not daemonize: it runs in the
// caller's process until Stop.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/lifecycle"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/metrics"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/services"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/toxiapi"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/pcap"
	"github.com/tunstack/tunstack/tundev"
)

// loopStopBudget is how long the event loop gets to return after the
// connections are closed (shutdown.go).
const loopStopBudget = 2 * time.Second

// logEventsBuffer holds the events the log has not taken yet.
const logEventsBuffer = 1024

// Daemon is a stack running on a TUN device, with its services and its
// control socket: what `tunstack up` runs and `tunstack demo` starts.
type Daemon struct {
	cfg   Config
	log   *slog.Logger
	dev   *tundev.Device
	stack Engine // tunstack's or gVisor's (--engine)

	stopLoop context.CancelFunc
	loopDone chan struct{} // closed when Run has returned
	loopErr  error         // valid after loopDone

	services  []io.Closer     // listeners, and UDP services' sockets (udp.go)
	forwards  forwards        // forward.go
	gateway   gatewayRelays   // --gateway (gateway.go)
	api       *toxiapi.Server // --api (api.go)
	serving   sync.WaitGroup
	control   *control.Server
	metrics   *metrics.Server  // --metrics (below)
	capture   *pcap.Writer     // --pcap (pcap.go)
	impaired  *tundev.Impaired // --impair (impair.go)
	stopLog   func()           // ends the log's subscription; the logger then drains it
	logging   sync.WaitGroup
	stopOnce  sync.Once
	stopError error
	report    ShutdownReport // how the connections ended, once stopped
	// record is what the daemon recorded of what it made (ownership.go);
	// nil if it recorded nothing.
	record *lifecycle.Record
	watch  watcher // when to stop on its own (watch.go)
	// stopProfile ends --cpuprofile's profile; nil without one.
	stopProfile func() error
	// stopRelease ends the memory releaser (memrelease.go); nil with
	// the gVisor engine.
	stopRelease func()
}

// Start opens the device, starts the stack and its services, and then
// opens the control socket, whose presence tells that all is ready. wrap,
// if not nil, goes between the device (and its impairment) and the stack:
// the demo's link. On failure Start undoes what it did. invokedAs is the
// command the user ran, for hints ("tunstack up").
func Start(cfg Config, log *slog.Logger, invokedAs string, wrap func(stack.Link) stack.Link) (_ *Daemon, err error) {
	d := &Daemon{cfg: cfg, log: log, loopDone: make(chan struct{}),
		watch: watcher{done: make(chan struct{}), unwatch: make(chan struct{})}}
	defer func() {
		if err != nil {
			d.Stop()
		}
	}()

	if cfg.CPUProfile != "" {
		if d.stopProfile, err = startCPUProfile(cfg.CPUProfile); err != nil {
			return nil, err
		}
	}

	d.removeStale()
	if err := checkBeforeDevice(cfg); err != nil {
		return nil, err
	}
	if d.capture, err = openCapture(cfg); err != nil {
		return nil, err
	}
	dev, err := tundev.Open(tundev.Config{Name: cfg.Dev, MTU: cfg.MTU, Addrs: cfg.KernelPrefixes(), NetNS: cfg.NetNS})
	if err != nil {
		return nil, deviceError(cfg, err, invokedAs)
	}
	d.dev = dev
	d.recordOwnership()
	log.Info("device up", "dev", dev.Name(), "netns", dev.NetNS(), "mtu", cfg.MTU,
		"kernel", prefixList(cfg.KernelPrefixes()), "stack", addrList(cfg.StackAddrs()))

	link, err := d.impairLink(dev)
	if err != nil {
		return nil, err
	}
	if wrap != nil {
		link = wrap(link)
	}
	st, err := newEngine(cfg, link, d.capture, d.newGatewayUDP(), log)
	if err != nil {
		return nil, err
	}
	d.stack = st

	// logConnections logs nothing above info level, and only state
	// changes at info: a subscription to more would make the stack build
	// an event per segment for nothing (under a SYN flood, one per SYN).
	if log.Enabled(context.Background(), slog.LevelInfo) {
		kinds := []stack.EventKind{stack.EventStateChange}
		if log.Enabled(context.Background(), slog.LevelDebug) {
			kinds = append(kinds, stack.EventDrop)
		}
		events, unsubscribe := st.SubscribeKinds(logEventsBuffer, kinds...)
		d.stopLog = unsubscribe
		d.logging.Add(1)
		go func() {
			defer d.logging.Done()
			logConnections(log, events)
		}()
	}

	loopCtx, stopLoop := context.WithCancel(context.Background())
	d.stopLoop = stopLoop
	go func() {
		defer close(d.loopDone)
		d.loopErr = st.Run(loopCtx)
	}()

	for _, svc := range cfg.Services {
		if err := d.startService(svc); err != nil {
			return nil, err
		}
	}
	for _, spec := range cfg.Forwards {
		if err := d.AddForward(spec); err != nil {
			return nil, err
		}
	}
	if err := d.startGateway(st); err != nil {
		return nil, err
	}
	if native, ok := st.(*stack.Stack); ok {
		// Once the relays it watches are in place.
		d.stopRelease = startMemoryReleaser(memoryWatch{inUse: native.BufferInUse, budget: max(cfg.Memory.BufferBudget, 0),
			outside: d.relayBuffers}, log)
	}
	if err := d.startMetrics(); err != nil {
		return nil, err
	}
	if err := d.startAPI(); err != nil {
		return nil, err
	}

	ln, err := control.Listen(cfg.Control)
	if err != nil {
		return nil, controlError(err)
	}
	backend := control.StackBackend{Stack: st, Held: services.Held}
	if cfg.Gateway.On {
		backend.Gateway = d.GatewayStatus // gateway.go
	}
	backend.Upstreams = d.upstreams // gateway.go
	d.control = control.NewServer(ln, backend, log)
	if native, ok := st.(*stack.Stack); ok {
		d.control.SetManager(manager{d: d, st: native}) // manage.go
	}
	go d.control.Serve()
	d.startWatch()
	return d, nil
}

// startService listens on the service's port on all of the stack's
// addresses and serves there until the listener closes.
func (d *Daemon) startService(svc services.Spec) error {
	if services.Network(svc.Name) == "udp" {
		return d.startPacketService(svc)
	}
	serve := services.Handler(svc.Name)
	ln, err := d.stack.Listen("tcp", fmt.Sprintf(":%d", svc.Port))
	if err != nil {
		return fmt.Errorf("service %s: %w", svc, err)
	}
	d.services = append(d.services, ln)
	d.serving.Add(1)
	go func() {
		defer d.serving.Done()
		if err := serve(ln); err != nil {
			d.log.Error("service stopped", "service", svc.String(), "err", err)
		}
	}()
	return nil
}

// Failed is closed if the event loop stops on its own.
func (d *Daemon) Failed() <-chan struct{} { return d.loopDone }

// Err is why the event loop stopped, once Failed is closed.
func (d *Daemon) Err() error { return d.loopErr }

// Stack is the running stack.
func (d *Daemon) Stack() Engine { return d.stack }

// ReadyLine is what `up` prints once the daemon is ready.
func (d *Daemon) ReadyLine() string {
	where := d.cfg.Dev
	if d.cfg.NetNS != "" {
		where += " in namespace " + d.cfg.NetNS
	}
	return fmt.Sprintf("tunstack: up on %s (stack %s), control %s", where, strings.Join(addrList(d.cfg.StackAddrs()), ", "), d.cfg.Control)
}

// Stop ends everything Start began, newest first: the control
// sessions, the services, the connections (closed with FIN, and reset if
// still open after Config.ShutdownGrace), the event loop, the device (and
// the namespace if it was created for it), and last the control socket,
// so that its disappearance means the daemon is gone. It may be called
// more than once; Shutdown is Stop with a way to cut the grace short.
func (d *Daemon) Stop() error {
	_, err := d.Shutdown(nil)
	return err
}

func (d *Daemon) stopNow(force <-chan struct{}) error {
	var errs []error
	d.stopWatching()
	if d.control != nil {
		d.control.Close()
	}
	d.stopMetrics()
	d.stopAPI()
	if d.stopRelease != nil {
		d.stopRelease()
	}
	for _, ln := range d.services {
		ln.Close()
	}
	stoppedForwards := d.stopForwards()
	d.stopGateway()
	if d.stack != nil {
		d.report = d.closeConnections(force)
	}
	if d.stopLoop != nil {
		d.stopLoop()
		select {
		case <-d.loopDone:
			if d.loopErr != nil && !errors.Is(d.loopErr, context.Canceled) && !Expected(d.loopErr) {
				d.log.Warn("event loop", "err", d.loopErr)
			}
		case <-time.After(loopStopBudget):
			d.log.Warn("event loop did not stop in time", "budget", loopStopBudget)
		}
	}
	for _, f := range stoppedForwards {
		f.Wait() // the stack has stopped: every relay ends
	}
	d.waitGateway()
	d.closeCapture()
	if d.stopLog != nil {
		d.stopLog()
		d.logging.Wait()
	}
	d.closeImpair()
	if d.dev != nil {
		if err := d.dev.Close(); err != nil {
			errs = append(errs, fmt.Errorf("removing device %s: %w", d.cfg.Dev, err))
		}
	}
	d.serving.Wait()
	if d.stopProfile != nil {
		errs = append(errs, d.stopProfile())
	}
	if d.control != nil {
		if err := d.removeControlSocket(); err != nil {
			errs = append(errs, fmt.Errorf("removing control socket: %w", err))
		}
	}
	d.forgetOwnership()
	return errors.Join(errs...)
}

// deviceError turns a failure to open the device into the line a user
// should see, as a usage error where the command line must change.
func deviceError(cfg Config, err error, invokedAs string) error {
	switch {
	case errors.Is(err, tundev.ErrTUNAccess):
		return err // says what to change: the file's mode
	case errors.Is(err, tundev.ErrPermission):
		return usage.RunAsRoot(usage.ErrNeedNetAdmin, invokedAs)
	case errors.Is(err, tundev.ErrDeviceBusy):
		return usage.Errorf("device %s is in use (another tunstack up, or an existing link of that name): pick another --dev", cfg.Dev)
	case errors.Is(err, tundev.ErrInvalidConfig):
		return usage.Wrap(err)
	}
	var conflict *tundev.RouteConflictError
	if errors.As(err, &conflict) {
		return routeConflictError(cfg, conflict)
	}
	return err
}

func addrList(addrs []netip.Addr) []string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return s
}

func prefixList(prefixes []netip.Prefix) []string {
	s := make([]string, len(prefixes))
	for i, p := range prefixes {
		s[i] = p.String()
	}
	return s
}

// startMetrics serves --metrics for the daemon's engine, if asked for.
func (d *Daemon) startMetrics() error {
	if d.cfg.Metrics == "" {
		return nil
	}
	var lost func() uint64
	if d.capture != nil {
		lost = d.capture.Lost
	}
	netns := d.cfg.NetNS
	if d.cfg.MetricsFromHost {
		netns = "" // the namespace the daemon started in
	}
	collector := metrics.NewCollector(d.stack.Counters, lost)
	if d.cfg.Gateway.On {
		collector.Gateway = d.GatewayStatus // gateway.go
	}
	m, err := metrics.Serve(d.cfg.Metrics, netns, collector, d.log)
	if err != nil {
		return err
	}
	d.metrics = m
	return nil
}

// stopMetrics closes the metrics listener; the namespace can then go.
func (d *Daemon) stopMetrics() {
	if d.metrics != nil {
		d.metrics.Close()
	}
}
