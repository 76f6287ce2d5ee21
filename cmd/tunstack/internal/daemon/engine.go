package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/gateway"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/gvisor"
	"github.com/tunstack/tunstack/stack/pcap"
)

// Engine is what the daemon needs of a TCP/IP stack. tunstack's own
// *stack.Stack is one; gVisor's netstack behind stack/gvisor is the other,
// so that tests and benchmarks can run either on the same device and
// services (--engine).
type Engine interface {
	Run(ctx context.Context) error
	Listen(network, address string) (net.Listener, error)
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	Shutdown(ctx context.Context) error
	Connections() []stack.ConnInfo
	Counters() stack.Counters
	Subscribe(buffer int) (<-chan stack.Event, func())
	SubscribeKinds(buffer int, kinds ...stack.EventKind) (<-chan stack.Event, func())
}

// Engine names for --engine.
const (
	EngineNative = "native" // tunstack's own engine
	EngineGVisor = "gvisor" // gVisor's netstack
)

// EngineNames are the engines --engine knows.
var EngineNames = []string{EngineNative, EngineGVisor}

var (
	_ Engine = (*stack.Stack)(nil)
	_ Engine = (*gvisor.Stack)(nil)
)

// newEngine returns the engine cfg names on link, not yet running;
// capture, if not nil, records the packets (--pcap); udp, if not nil,
// relays the UDP flows to addresses not the stack's (--gateway).
func newEngine(cfg Config, link stack.Link, capture *pcap.Writer, udp *gateway.UDP, log *slog.Logger) (Engine, error) {
	log = log.With("component", "stack", "engine", cfg.Engine)
	if cfg.Engine == EngineGVisor {
		opts := gvisor.Options{Addrs: cfg.StackAddrs(), MSL: cfg.MSL, Backlog: cfg.Listen.Backlog, SynBacklog: cfg.Listen.SynBacklog, Logger: log}
		if udp != nil {
			opts.UDPForward = udp.OfferGVisor
		}
		gv, err := gvisor.New(capturedLink(link, capture), opts)
		if err != nil {
			return nil, fmt.Errorf("starting gVisor's stack: %w", err)
		}
		return gv, nil
	}
	// The zero ISNKey makes the stack draw a random one (RFC 6528).
	opts := stack.Options{
		Addrs:             cfg.StackAddrs(),
		TCP:               cfg.TCP,
		Backlog:           cfg.Listen.Backlog,
		SynBacklog:        cfg.Listen.SynBacklog,
		SynCookies:        cfg.Listen.SynCookies,
		Logger:            log,
		Capture:           capturer(capture),
		ChallengeACKLimit: cfg.Limits.ChallengeACKLimit,
		RSTRateLimit:      cfg.Limits.RSTRateLimit,
		ICMPRateLimit:     cfg.Limits.ICMPRateLimit,
		FragMemory:        cfg.FragMemory,
		FragTimeout:       cfg.FragTimeout,
	}
	cfg.Memory.apply(&opts)
	if udp != nil {
		opts.UDPForward = udp.OfferNative
	}
	st, err := stack.New(link, opts)
	if err != nil {
		return nil, fmt.Errorf("starting the stack: %w", err)
	}
	return st, nil
}
