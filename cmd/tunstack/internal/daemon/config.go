package daemon

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/forward"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/services"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tundev"
)

// Config is a validated daemon configuration: what the flags of `tunstack
// up` give once package flags has checked them. Start checks nothing
// again.
type Config struct {
	Dev     string
	NetNS   string
	Control string
	// Addr and Addr6 are the kernel's side of the device; IP and IP6 the
	// stack's. Addr6 and IP6 are invalid (zero) when IPv6 is off.
	Addr       netip.Prefix
	IP         netip.Addr
	Addr6      netip.Prefix
	IP6        netip.Addr
	MTU        int
	Services   []services.Spec
	MSL        time.Duration
	Log        LogConfig
	Engine     string              // EngineNative or EngineGVisor
	CPUProfile string              // --cpuprofile file; "" for none
	Metrics    string              // --metrics, [HOST]:PORT, an IP in canonical form; "" for none
	PCAP       string              // --pcap file; "" for none
	Impair     tundev.ImpairConfig // --impair; inactive by default
	TCP        tcp.Config          // the engine's policies
	Limits     Limits              // the stack's rate limits
	// FragMemory and FragTimeout bound IP reassembly as stack.Options
	// says: a negative FragMemory turns it off.
	FragMemory  int
	FragTimeout time.Duration
	Listen      ListenConfig   // listen queues and SYN cookies
	Memory      MemoryConfig   // buffer budget, connection limits
	Forwards    []forward.Spec // --forward
	API         string         // --api, canonical IP:PORT; "" for none
	Gateway     GatewayConfig  // --gateway (gateway.go)
	// MetricsFromHost serves Metrics in the namespace the daemon started
	// in rather than NetNS (--metrics-from-host).
	MetricsFromHost bool
	// ShutdownGrace is how long connections get to close with FIN when
	// the daemon stops before those still open are reset; 0 resets them
	// at once (--shutdown-grace).
	ShutdownGrace time.Duration
}

// StackAddrs are the stack's own addresses.
func (c Config) StackAddrs() []netip.Addr {
	addrs := []netip.Addr{c.IP}
	if c.IP6.IsValid() {
		addrs = append(addrs, c.IP6)
	}
	return addrs
}

// KernelPrefixes are the addresses given to the device.
func (c Config) KernelPrefixes() []netip.Prefix {
	prefixes := []netip.Prefix{c.Addr}
	if c.Addr6.IsValid() {
		prefixes = append(prefixes, c.Addr6)
	}
	return prefixes
}

// LogConfig is how the daemon logs.
type LogConfig struct {
	Level  slog.Level
	Format string // "text" or "json"
}

// Limits are the rate limits that belong to the stack, not the engine, as
// stack.Options takes them: negative is off.
type Limits struct {
	ChallengeACKLimit, RSTRateLimit, ICMPRateLimit int
}

// ListenConfig bounds every listener's two queues and says when it
// answers with SYN cookies.
type ListenConfig struct {
	Backlog    int
	SynBacklog int
	SynCookies stack.SynCookieMode
}

// MemoryConfig bounds what peers can make the stack hold.
type MemoryConfig struct {
	// BufferBudget is stack.Options.BufferBudget: bytes, or -1 for no
	// bound.
	BufferBudget    int64
	MaxConns        int
	MaxConnsPerPeer int
}

// apply puts the limits into the stack's options.
func (c MemoryConfig) apply(o *stack.Options) {
	o.BufferBudget, o.MaxConns, o.MaxConnsPerPeer = c.BufferBudget, c.MaxConns, c.MaxConnsPerPeer
}
