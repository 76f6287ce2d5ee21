package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/gvisor"
	"github.com/tunstack/tunstack/stack/pcap"
)

// engine is what the daemon needs of a TCP/IP stack. tunstack's own
// *stack.Stack is one; gVisor's netstack behind stack/gvisor is the other,
// so that tests and benchmarks can run either on the same device and
// services (--engine).
type engine interface {
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
	engineNative = "native" // tunstack's own engine
	engineGVisor = "gvisor" // gVisor's netstack
)

var engineNames = []string{engineNative, engineGVisor}

var (
	_ engine = (*stack.Stack)(nil)
	_ engine = (*gvisor.Stack)(nil)
)

// parseEngine checks --engine.
func parseEngine(name string) (string, error) {
	for _, n := range engineNames {
		if n == name {
			return name, nil
		}
	}
	return "", usage.Errorf("--engine %q: want %s", name, strings.Join(engineNames, " or "))
}

// newEngine returns the engine cfg names on link, not yet running;
// capture, if not nil, records the packets (--pcap).
func newEngine(cfg upConfig, link stack.Link, capture *pcap.Writer, log *slog.Logger) (engine, error) {
	log = log.With("component", "stack", "engine", cfg.Engine)
	if cfg.Engine == engineGVisor {
		gv, err := gvisor.New(capturedLink(link, capture), gvisor.Options{Addrs: cfg.stackAddrs(), MSL: cfg.MSL, Backlog: cfg.Listen.Backlog, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("starting gVisor's stack: %w", err)
		}
		return gv, nil
	}
	// The zero ISNKey makes the stack draw a random one (RFC 6528).
	opts := stack.Options{
		Addrs:             cfg.stackAddrs(),
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
	st, err := stack.New(link, opts)
	if err != nil {
		return nil, fmt.Errorf("starting the stack: %w", err)
	}
	return st, nil
}
