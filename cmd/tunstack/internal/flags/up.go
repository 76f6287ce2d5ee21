package flags

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/services"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

// Up are the flags of `tunstack up` as typed.
type Up struct {
	Device     Device
	Addr       string
	IP         string
	Addr6      string
	IP6        string
	mtu        int
	serve      string
	MSL        time.Duration
	logLevel   string
	logFormat  string
	engine     string
	cpuProfile string
	metrics    string
	pcap       string
	impair     []string
	tcp        tcpFlags
	limits     limitFlags   // limits.go
	frag       fragFlags    // frag.go
	listen     listenFlags  // listen.go
	mem        memFlags     // memory.go
	forwards   forwardFlags // forward.go
	api        apiFlag      // api.go
	gateway    gatewayFlags // gateway.go
	// metricsFromHost serves --metrics in the namespace up started in.
	metricsFromHost bool
	grace           time.Duration
}

// Register adds the flags of `up`.
func (f *Up) Register(fs *pflag.FlagSet) {
	f.Device.Register(fs, "network namespace of the device (created if absent, and then removed on exit)")
	fs.StringVar(&f.Addr, "addr", DefaultAddr, "kernel-side IPv4 address and prefix of the device")
	fs.StringVar(&f.IP, "ip", DefaultIP, "the stack's IPv4 address, inside --addr's prefix")
	fs.StringVar(&f.Addr6, "addr6", DefaultAddr6, `kernel-side IPv6 address and prefix ("" turns IPv6 off)`)
	fs.StringVar(&f.IP6, "ip6", DefaultIP6, "the stack's IPv6 address, inside --addr6's prefix")
	fs.IntVar(&f.mtu, "mtu", DefaultMTU, "device MTU")
	fs.StringVar(&f.serve, "serve", DefaultServe, `services as NAME:PORT,... (http, echo, discard, udp-echo; source, oneshot, hold for benchmarks; "" for none)`)
	fs.DurationVar(&f.MSL, "msl", 0, "maximum segment lifetime; TIME-WAIT lasts 2*MSL (default 30s)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics on http://ADDR/metrics, ADDR any listen address (:9100, 127.0.0.1:9100, [::1]:9100) in the device's namespace")
	fs.BoolVar(&f.metricsFromHost, "metrics-from-host", false, "listen for --metrics in the namespace tunstack is started in, not the device's (--netns): a Prometheus on the host can scrape it")
	fs.StringVar(&f.pcap, "pcap", "", "write every packet crossing the device to FILE (pcapng, with why each drop happened as a packet comment)")
	fs.StringArrayVar(&f.impair, "impair", nil, impairFlagHelp)
	fs.StringVar(&f.engine, "engine", daemon.EngineNative, "TCP/IP engine: native (tunstack's) or gvisor (gVisor's netstack, for comparison)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) of the daemon to this file")
	fs.DurationVar(&f.grace, "shutdown-grace", daemon.DefaultShutdownGrace, "on SIGINT or SIGTERM, how long connections get to close with FIN before those still open are reset (0: reset at once; a second signal cuts it short)")
	f.tcp.register(fs)
	f.limits.register(fs)
	f.frag.register(fs)
	f.listen.register(fs)
	f.mem.register(fs)
	f.forwards.register(fs)
	f.api.register(fs)
	f.gateway.register(fs)
}

// DefaultUp are the flags of `up` as a user gets them without any.
func DefaultUp() Up {
	var f Up
	f.Register(pflag.NewFlagSet("defaults", pflag.ContinueOnError))
	return f
}

// Config validates the flags. Every error is a usage error naming the flag.
func (f *Up) Config() (daemon.Config, error) {
	if err := f.Device.Validate(); err != nil {
		return daemon.Config{}, err
	}
	cfg := daemon.Config{
		Dev:     f.Device.Dev,
		NetNS:   f.Device.NetNS,
		Control: f.Device.ControlPath(),
		MTU:     f.mtu,
		MSL:     f.MSL,
	}
	var err error
	if cfg.Addr, cfg.IP, err = parseAddressPair("--addr", f.Addr, "--ip", f.IP, false); err != nil {
		return daemon.Config{}, err
	}
	if f.Addr6 != "" {
		if cfg.Addr6, cfg.IP6, err = parseAddressPair("--addr6", f.Addr6, "--ip6", f.IP6, true); err != nil {
			return daemon.Config{}, err
		}
	}
	minimum := minMTU
	if cfg.Addr6.IsValid() {
		minimum = minMTUIPv6
	}
	if f.mtu < minimum || f.mtu > maxMTU {
		return daemon.Config{}, usage.Errorf("--mtu %d: must be between %d and %d", f.mtu, minimum, maxMTU)
	}
	if f.MSL < 0 {
		return daemon.Config{}, usage.Errorf("--msl %v: must not be negative", f.MSL)
	}
	if f.grace < 0 {
		return daemon.Config{}, usage.Errorf("--shutdown-grace %v: must not be negative", f.grace)
	}
	cfg.ShutdownGrace = f.grace
	if cfg.Services, err = parseServe(f.serve); err != nil {
		return daemon.Config{}, err
	}
	if cfg.Log, err = parseLogConfig(f.logLevel, f.logFormat); err != nil {
		return daemon.Config{}, err
	}
	if cfg.Engine, err = ParseEngine(f.engine); err != nil {
		return daemon.Config{}, err
	}
	cfg.CPUProfile = f.cpuProfile
	if cfg.Metrics, cfg.MetricsFromHost, err = f.metricsConfig(cfg.NetNS, cfg.KernelPrefixes()); err != nil { // metrics.go
		return daemon.Config{}, err
	}
	cfg.PCAP = f.pcap
	if cfg.Impair, err = parseImpair(f.impair); err != nil {
		return daemon.Config{}, err
	}
	if cfg.TCP, err = f.tcp.config(f.MSL); err != nil {
		return daemon.Config{}, err
	}
	if err := f.limits.apply(&cfg); err != nil {
		return daemon.Config{}, err
	}
	if cfg.FragMemory, cfg.FragTimeout, err = f.frag.config(); err != nil {
		return daemon.Config{}, err
	}
	if cfg.Listen, err = f.listen.config(); err != nil {
		return daemon.Config{}, err
	}
	if cfg.Memory, err = f.mem.config(); err != nil {
		return daemon.Config{}, err
	}
	if err := f.forwards.apply(&cfg); err != nil {
		return daemon.Config{}, err
	}
	if err := f.api.apply(&cfg); err != nil {
		return daemon.Config{}, err
	}
	if err := f.gateway.apply(&cfg); err != nil {
		return daemon.Config{}, err
	}
	return cfg, nil
}

// MTU bounds: IPv4 hosts must take 576-byte datagrams (RFC 791), IPv6 links
// must carry 1280 (RFC 8200 §5).
const (
	minMTU     = 576
	minMTUIPv6 = 1280
	maxMTU     = 65535
)

// parseAddressPair parses the kernel's prefix and the stack's address of
// one family and checks that they can share the device: the stack's
// address must be on the kernel's subnet, and must not be the kernel's own
// address, nor the subnet's network or broadcast address.
func parseAddressPair(prefixFlag, prefixText, ipFlag, ipText string, ipv6 bool) (netip.Prefix, netip.Addr, error) {
	family, example := "IPv4", DefaultAddr
	if ipv6 {
		family, example = "IPv6", DefaultAddr6
	}
	prefix, err := netip.ParsePrefix(prefixText)
	if err != nil {
		return netip.Prefix{}, netip.Addr{}, usage.Errorf("%s %q: want an %s address with a prefix length, like %s", prefixFlag, prefixText, family, example)
	}
	if prefix.Addr().Is6() != ipv6 || prefix.Addr().Is4In6() {
		return netip.Prefix{}, netip.Addr{}, usage.Errorf("%s %q: not an %s prefix", prefixFlag, prefixText, family)
	}
	if prefix.Addr().Zone() != "" {
		return netip.Prefix{}, netip.Addr{}, usage.Errorf("%s %q: a zone is not allowed", prefixFlag, prefixText)
	}
	ip, err := netip.ParseAddr(ipText)
	if err != nil || ip.Is6() != ipv6 || ip.Is4In6() || ip.Zone() != "" {
		return netip.Prefix{}, netip.Addr{}, usage.Errorf("%s %q: not an %s address", ipFlag, ipText, family)
	}
	switch {
	case !prefix.Contains(ip):
		return netip.Prefix{}, netip.Addr{}, usage.Errorf("%s %s is outside %s %s: the kernel would not route it to the device", ipFlag, ip, prefixFlag, prefix)
	case ip == prefix.Addr():
		return netip.Prefix{}, netip.Addr{}, usage.Errorf("%s %s is the kernel's own address (%s): pick another address in %s", ipFlag, ip, prefixFlag, prefix.Masked())
	case !ipv6 && prefix.Bits() <= 30 && (ip == prefix.Masked().Addr() || ip == lastAddr(prefix)):
		return netip.Prefix{}, netip.Addr{}, usage.Errorf("%s %s is the network or broadcast address of %s", ipFlag, ip, prefix.Masked())
	}
	return prefix, ip, nil
}

// lastAddr is the highest address of prefix (the IPv4 broadcast address).
func lastAddr(prefix netip.Prefix) netip.Addr {
	b := prefix.Masked().Addr().As4()
	host := uint32(1)<<(32-prefix.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// parseServe parses --serve: NAME:PORT pairs separated by commas, each
// port used once per transport (echo:7 and udp-echo:7 share a number). An
// empty string means no services.
func parseServe(text string) ([]services.Spec, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var specs []services.Spec
	ports := map[string]string{} // by services.Network and port
	for _, item := range strings.Split(text, ",") {
		item = strings.TrimSpace(item)
		name, portText, ok := strings.Cut(item, ":")
		if !ok {
			return nil, usage.Errorf("--serve %q: %q is not NAME:PORT", text, item)
		}
		known := false
		for _, n := range services.Names {
			known = known || n == name
		}
		if !known {
			return nil, usage.Errorf("--serve %q: unknown service %q (known: %s)", text, name, strings.Join(services.Names, ", "))
		}
		port, err := strconv.ParseUint(portText, 10, 16)
		if err != nil || port == 0 {
			return nil, usage.Errorf("--serve %q: bad port %q for %s (want 1-65535)", text, portText, name)
		}
		key := services.Network(name) + strconv.Itoa(int(port))
		if other, taken := ports[key]; taken {
			return nil, usage.Errorf("--serve %q: port %d is given to both %s and %s", text, port, other, name)
		}
		ports[key] = name
		specs = append(specs, services.Spec{Name: name, Port: uint16(port)})
	}
	return specs, nil
}

func parseLogConfig(level, format string) (daemon.LogConfig, error) {
	var cfg daemon.LogConfig
	if err := cfg.Level.UnmarshalText([]byte(level)); err != nil {
		return daemon.LogConfig{}, usage.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	switch format {
	case "text", "json":
		cfg.Format = format
	default:
		return daemon.LogConfig{}, usage.Errorf("--log-format %q: want text or json", format)
	}
	return cfg, nil
}

// ParseEngine checks an engine name (--engine, bench --engines).
func ParseEngine(name string) (string, error) {
	for _, n := range daemon.EngineNames {
		if n == name {
			return name, nil
		}
	}
	return "", usage.Errorf("--engine %q: want %s", name, strings.Join(daemon.EngineNames, " or "))
}
