package main

import (
	"log/slog"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/services"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tundev"
)

// Defaults a user gets (DESIGN.md, "Defaults a user gets").
const (
	defaultDev        = "tunstack0"
	defaultAddr       = "10.77.0.1/24"
	defaultIP         = "10.77.0.2"
	defaultAddr6      = "fd00:77::1/64"
	defaultIP6        = "fd00:77::2"
	defaultMTU        = 1500
	defaultServe      = "http:80,echo:7,discard:9"
	defaultControlDir = "/run/tunstack"
)

// MTU bounds: IPv4 hosts must take 576-byte datagrams (RFC 791), IPv6 links
// must carry 1280 (RFC 8200 §5).
const (
	minMTU     = 576
	minMTUIPv6 = 1280
	maxMTU     = 65535
)

// deviceFlags name a daemon: its device and namespace, from which the
// control socket's path follows. up, dial and the later commands share them.
type deviceFlags struct {
	dev     string
	netns   string
	control string
}

// register adds --dev, --netns and --control; netnsHelp says what --netns
// does for this command.
func (f *deviceFlags) register(fs *pflag.FlagSet, netnsHelp string) {
	fs.StringVar(&f.dev, "dev", defaultDev, "TUN device name")
	fs.StringVar(&f.netns, "netns", "", netnsHelp)
	fs.StringVar(&f.control, "control", "", "control socket (default "+defaultControlDir+"/[NETNS-]DEV.sock)")
}

// controlPath is the control socket: --control, or one derived from the
// device and namespace so that daemons in two namespaces do not collide.
func (f *deviceFlags) controlPath() string {
	if f.control != "" {
		return f.control
	}
	return defaultControlPath(f.dev, f.netns)
}

func defaultControlPath(dev, netns string) string {
	name := dev
	if netns != "" {
		name = netns + "-" + dev
	}
	return filepath.Join(defaultControlDir, name+".sock")
}

func (f *deviceFlags) validate() error {
	if err := validateDeviceName(f.dev); err != nil {
		return err
	}
	if f.netns != "" {
		if err := validateNetNSName(f.netns); err != nil {
			return err
		}
	}
	return nil
}

// upFlags are the flags of `tunstack up` as typed.
type upFlags struct {
	device     deviceFlags
	addr       string
	ip         string
	addr6      string
	ip6        string
	mtu        int
	serve      string
	msl        time.Duration
	logLevel   string
	logFormat  string
	engine     string
	cpuProfile string
	metrics    string
	pcap       string
	impair     []string
	tcp        tcpFlags
	limits     limitFlags  // limitflags.go
	frag       fragFlags   // fragflags.go
	listen     listenFlags // listenflags.go
	mem        memFlags    // memflags.go
}

func (f *upFlags) register(fs *pflag.FlagSet) {
	f.device.register(fs, "network namespace of the device (created if absent, and then removed on exit)")
	fs.StringVar(&f.addr, "addr", defaultAddr, "kernel-side IPv4 address and prefix of the device")
	fs.StringVar(&f.ip, "ip", defaultIP, "the stack's IPv4 address, inside --addr's prefix")
	fs.StringVar(&f.addr6, "addr6", defaultAddr6, `kernel-side IPv6 address and prefix ("" turns IPv6 off)`)
	fs.StringVar(&f.ip6, "ip6", defaultIP6, "the stack's IPv6 address, inside --addr6's prefix")
	fs.IntVar(&f.mtu, "mtu", defaultMTU, "device MTU")
	fs.StringVar(&f.serve, "serve", defaultServe, `services as NAME:PORT,... (http, echo, discard; source, oneshot, hold for benchmarks; "" for none)`)
	fs.DurationVar(&f.msl, "msl", 0, "maximum segment lifetime; TIME-WAIT lasts 2*MSL (default 30s)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics on http://ADDR/metrics, ADDR on the kernel's side of the device (like 10.77.0.1:9100)")
	fs.StringVar(&f.pcap, "pcap", "", "write every packet crossing the device to FILE (pcapng, with why each drop happened as a packet comment)")
	fs.StringArrayVar(&f.impair, "impair", nil, impairFlagHelp)
	fs.StringVar(&f.engine, "engine", engineNative, "TCP/IP engine: native (tunstack's) or gvisor (gVisor's netstack, for comparison)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) of the daemon to this file")
	f.tcp.register(fs)
	f.limits.register(fs)
	f.frag.register(fs)
	f.listen.register(fs)
	f.mem.register(fs)
}

// defaultUpFlags are the flags of `up` as a user gets them without any.
func defaultUpFlags() upFlags {
	var f upFlags
	f.register(pflag.NewFlagSet("defaults", pflag.ContinueOnError))
	return f
}

// upConfig is a validated daemon configuration.
type upConfig struct {
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
	Log        logConfig
	Engine     string              // engineNative or engineGVisor
	CPUProfile string              // --cpuprofile file; "" for none
	Metrics    string              // --metrics, canonical IP:PORT; "" for none
	PCAP       string              // --pcap file; "" for none
	Impair     tundev.ImpairConfig // --impair; inactive by default
	TCP        tcp.Config          // the engine's policies (tcpflags.go)
	Limits     stackLimits         // the stack's rate limits (limitflags.go)
	// FragMemory and FragTimeout bound IP reassembly as stack.Options
	// says: a negative FragMemory turns it off (fragflags.go).
	FragMemory  int
	FragTimeout time.Duration
	Listen      listenConfig // listen queues and SYN cookies (listenflags.go)
	Memory      memConfig    // buffer budget, connection limits (memflags.go)
}

// stackAddrs are the stack's own addresses.
func (c upConfig) stackAddrs() []netip.Addr {
	addrs := []netip.Addr{c.IP}
	if c.IP6.IsValid() {
		addrs = append(addrs, c.IP6)
	}
	return addrs
}

// kernelPrefixes are the addresses given to the device.
func (c upConfig) kernelPrefixes() []netip.Prefix {
	prefixes := []netip.Prefix{c.Addr}
	if c.Addr6.IsValid() {
		prefixes = append(prefixes, c.Addr6)
	}
	return prefixes
}

// config validates the flags. Every error is a usage error naming the flag.
func (f *upFlags) config() (upConfig, error) {
	if err := f.device.validate(); err != nil {
		return upConfig{}, err
	}
	cfg := upConfig{
		Dev:     f.device.dev,
		NetNS:   f.device.netns,
		Control: f.device.controlPath(),
		MTU:     f.mtu,
		MSL:     f.msl,
	}
	var err error
	if cfg.Addr, cfg.IP, err = parseAddressPair("--addr", f.addr, "--ip", f.ip, false); err != nil {
		return upConfig{}, err
	}
	if f.addr6 != "" {
		if cfg.Addr6, cfg.IP6, err = parseAddressPair("--addr6", f.addr6, "--ip6", f.ip6, true); err != nil {
			return upConfig{}, err
		}
	}
	minimum := minMTU
	if cfg.Addr6.IsValid() {
		minimum = minMTUIPv6
	}
	if f.mtu < minimum || f.mtu > maxMTU {
		return upConfig{}, usage.Errorf("--mtu %d: must be between %d and %d", f.mtu, minimum, maxMTU)
	}
	if f.msl < 0 {
		return upConfig{}, usage.Errorf("--msl %v: must not be negative", f.msl)
	}
	if cfg.Services, err = parseServe(f.serve); err != nil {
		return upConfig{}, err
	}
	if cfg.Log, err = parseLogConfig(f.logLevel, f.logFormat); err != nil {
		return upConfig{}, err
	}
	if cfg.Engine, err = parseEngine(f.engine); err != nil {
		return upConfig{}, err
	}
	cfg.CPUProfile = f.cpuProfile
	if f.metrics != "" {
		if cfg.Metrics, err = parseMetricsAddr(f.metrics, cfg.kernelPrefixes()); err != nil {
			return upConfig{}, err
		}
	}
	cfg.PCAP = f.pcap
	if cfg.Impair, err = parseImpair(f.impair); err != nil {
		return upConfig{}, err
	}
	if cfg.TCP, err = f.tcp.config(f.msl); err != nil {
		return upConfig{}, err
	}
	if err := f.limits.apply(&cfg); err != nil {
		return upConfig{}, err
	}
	if cfg.FragMemory, cfg.FragTimeout, err = f.frag.config(); err != nil {
		return upConfig{}, err
	}
	if cfg.Listen, err = f.listen.config(); err != nil {
		return upConfig{}, err
	}
	if cfg.Memory, err = f.mem.config(); err != nil {
		return upConfig{}, err
	}
	return cfg, nil
}

// parseAddressPair parses the kernel's prefix and the stack's address of
// one family and checks that they can share the device: the stack's
// address must be on the kernel's subnet, and must not be the kernel's own
// address, nor the subnet's network or broadcast address.
func parseAddressPair(prefixFlag, prefixText, ipFlag, ipText string, ipv6 bool) (netip.Prefix, netip.Addr, error) {
	family, example := "IPv4", defaultAddr
	if ipv6 {
		family, example = "IPv6", defaultAddr6
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
// port used once. An empty string means no services.
func parseServe(text string) ([]services.Spec, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var specs []services.Spec
	ports := map[uint16]string{}
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
		if other, taken := ports[uint16(port)]; taken {
			return nil, usage.Errorf("--serve %q: port %d is given to both %s and %s", text, port, other, name)
		}
		ports[uint16(port)] = name
		specs = append(specs, services.Spec{Name: name, Port: uint16(port)})
	}
	return specs, nil
}

// logConfig is how the daemon logs.
type logConfig struct {
	Level  slog.Level
	Format string // "text" or "json"
}

func parseLogConfig(level, format string) (logConfig, error) {
	var cfg logConfig
	if err := cfg.Level.UnmarshalText([]byte(level)); err != nil {
		return logConfig{}, usage.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	switch format {
	case "text", "json":
		cfg.Format = format
	default:
		return logConfig{}, usage.Errorf("--log-format %q: want text or json", format)
	}
	return cfg, nil
}

// validateDeviceName applies the kernel's rules for interface names
// (dev_valid_name): 1 to 15 bytes, no '/', ':' or white space, not "." or "..".
func validateDeviceName(name string) error {
	const ifNameMax = 15 // IFNAMSIZ - 1
	switch {
	case name == "":
		return usage.Errorf("--dev: a device name is required")
	case len(name) > ifNameMax:
		return usage.Errorf("--dev %q: longer than %d bytes", name, ifNameMax)
	case name == "." || name == "..":
		return usage.Errorf("--dev %q: not a valid interface name", name)
	case strings.ContainsAny(name, "/: \t\n\r\v\f"):
		return usage.Errorf("--dev %q: must not contain '/', ':' or spaces", name)
	}
	return nil
}

// validateNetNSName keeps a namespace name to what `ip netns` can use: a
// file name under /run/netns.
func validateNetNSName(name string) error {
	switch {
	case name == "." || name == "..":
		return usage.Errorf("--netns %q: not a valid namespace name", name)
	case len(name) > 200:
		return usage.Errorf("--netns %q: too long", name)
	case strings.ContainsAny(name, "/ \t\n\r\v\f"):
		return usage.Errorf("--netns %q: must not contain '/' or spaces", name)
	}
	return nil
}
