package flags

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/services"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"

	"github.com/google/go-cmp/cmp"
)

func TestUpFlagsDefaults(t *testing.T) {
	f := DefaultUp()
	cfg, err := f.Config()
	if err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	want := daemon.Config{
		Dev:     "tunstack0",
		Control: "/run/tunstack/tunstack0.sock",
		Addr:    netip.MustParsePrefix("10.77.0.1/24"),
		IP:      netip.MustParseAddr("10.77.0.2"),
		Addr6:   netip.MustParsePrefix("fd00:77::1/64"),
		IP6:     netip.MustParseAddr("fd00:77::2"),
		MTU:     1500,
		Services: []services.Spec{
			{Name: "http", Port: 80}, {Name: "echo", Port: 7}, {Name: "discard", Port: 9}, {Name: "udp-echo", Port: 7},
		},
		Log:        daemon.LogConfig{Level: slog.LevelInfo, Format: "text"},
		Engine:     daemon.EngineNative,
		FragMemory: defaultFragMemory,
		TCP: tcp.Config{
			MinRTO: tcp.DefaultMinRTO, MaxRTO: tcp.DefaultMaxRTO, SynRetries: tcp.DefaultSynRetries,
			Congestion: tcp.CUBIC, InvalidRateLimit: 500 * time.Millisecond,
		},
		Limits:        daemon.Limits{ChallengeACKLimit: 1000, RSTRateLimit: 1000, ICMPRateLimit: 1000},
		Listen:        daemon.ListenConfig{Backlog: 4096, SynBacklog: 1024, SynCookies: stack.SynCookiesAuto},
		Memory:        daemon.MemoryConfig{BufferBudget: 512 << 20},
		ShutdownGrace: 3 * time.Second,
	}
	if diff := cmp.Diff(want, cfg, cmpopts.IgnoreFields(tcp.Config{}, "ISN"), cmpopts.IgnoreUnexported(tcp.Config{}), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("default config (-want +got):\n%s", diff)
	}
	if got := fmt.Sprint(cfg.StackAddrs()); got != "[10.77.0.2 fd00:77::2]" {
		t.Errorf("stackAddrs = %s", got)
	}
	if got := fmt.Sprint(cfg.KernelPrefixes()); got != "[10.77.0.1/24 fd00:77::1/64]" {
		t.Errorf("kernelPrefixes = %s", got)
	}
}

func TestUpFlagsConfig(t *testing.T) {
	tests := []struct {
		name    string
		change  func(f *Up)
		wantErr string // substring; "" means valid
		check   func(t *testing.T, cfg daemon.Config)
	}{
		{name: "ipv6 off", change: func(f *Up) { f.Addr6 = "" }, check: func(t *testing.T, cfg daemon.Config) {
			if cfg.Addr6.IsValid() || cfg.IP6.IsValid() || len(cfg.StackAddrs()) != 1 || len(cfg.KernelPrefixes()) != 1 {
				t.Errorf("IPv6 still configured: %+v", cfg)
			}
		}},
		{name: "ipv6 off allows small MTU", change: func(f *Up) { f.Addr6, f.mtu = "", 576 }},
		{name: "netns moves control socket", change: func(f *Up) { f.Device.NetNS = "lab" }, check: func(t *testing.T, cfg daemon.Config) {
			if cfg.Control != "/run/tunstack/lab-tunstack0.sock" || cfg.NetNS != "lab" {
				t.Errorf("control %s netns %s", cfg.Control, cfg.NetNS)
			}
		}},
		{name: "explicit control", change: func(f *Up) { f.Device.Control, f.Device.NetNS = "/tmp/x.sock", "lab" }, check: func(t *testing.T, cfg daemon.Config) {
			if cfg.Control != "/tmp/x.sock" {
				t.Errorf("control %s", cfg.Control)
			}
		}},
		{name: "other subnet", change: func(f *Up) { f.Addr, f.IP = "192.168.99.1/30", "192.168.99.2" }},
		{name: "msl", change: func(f *Up) { f.MSL = 100 * time.Millisecond }, check: func(t *testing.T, cfg daemon.Config) {
			if cfg.MSL != 100*time.Millisecond {
				t.Errorf("MSL %v", cfg.MSL)
			}
		}},
		{name: "json debug logs", change: func(f *Up) { f.logLevel, f.logFormat = "debug", "json" }, check: func(t *testing.T, cfg daemon.Config) {
			if cfg.Log != (daemon.LogConfig{Level: slog.LevelDebug, Format: "json"}) {
				t.Errorf("log %+v", cfg.Log)
			}
		}},
		{name: "no services", change: func(f *Up) { f.serve = "" }, check: func(t *testing.T, cfg daemon.Config) {
			if len(cfg.Services) != 0 {
				t.Errorf("services %v", cfg.Services)
			}
		}},

		{name: "addr malformed", change: func(f *Up) { f.Addr = "10.77.0.1" }, wantErr: `--addr "10.77.0.1": want an IPv4 address with a prefix length`},
		{name: "addr garbage", change: func(f *Up) { f.Addr = "bogus" }, wantErr: `--addr "bogus"`},
		{name: "addr is ipv6", change: func(f *Up) { f.Addr = "fd00::1/64" }, wantErr: `--addr "fd00::1/64": not an IPv4 prefix`},
		{name: "ip malformed", change: func(f *Up) { f.IP = "10.77.0" }, wantErr: `--ip "10.77.0": not an IPv4 address`},
		{name: "ip is ipv6", change: func(f *Up) { f.IP = "fd00:77::2" }, wantErr: `--ip "fd00:77::2": not an IPv4 address`},
		{name: "ip outside prefix", change: func(f *Up) { f.IP = "10.78.0.2" }, wantErr: "--ip 10.78.0.2 is outside --addr 10.77.0.1/24"},
		{name: "ip is kernel's", change: func(f *Up) { f.IP = "10.77.0.1" }, wantErr: "--ip 10.77.0.1 is the kernel's own address"},
		{name: "ip is broadcast", change: func(f *Up) { f.IP = "10.77.0.255" }, wantErr: "broadcast"},
		{name: "ip is network", change: func(f *Up) { f.IP = "10.77.0.0" }, wantErr: "network or broadcast"},
		{name: "addr6 is ipv4", change: func(f *Up) { f.Addr6 = "10.0.0.1/24" }, wantErr: `--addr6 "10.0.0.1/24": not an IPv6 prefix`},
		{name: "ip6 outside prefix", change: func(f *Up) { f.IP6 = "fd00:78::2" }, wantErr: "--ip6 fd00:78::2 is outside --addr6 fd00:77::1/64"},
		{name: "ip6 is kernel's", change: func(f *Up) { f.IP6 = "fd00:77::1" }, wantErr: "--ip6 fd00:77::1 is the kernel's own address"},
		{name: "ip6 with zone", change: func(f *Up) { f.IP6 = "fd00:77::2%eth0" }, wantErr: "not an IPv6 address"},
		{name: "mtu too small for ipv6", change: func(f *Up) { f.mtu = 1000 }, wantErr: "--mtu 1000: must be between 1280 and 65535"},
		{name: "mtu too big", change: func(f *Up) { f.mtu = 70000 }, wantErr: "--mtu 70000"},
		{name: "negative msl", change: func(f *Up) { f.MSL = -time.Second }, wantErr: "--msl"},
		{name: "shutdown grace", change: func(f *Up) { f.grace = 0 }, check: func(t *testing.T, cfg daemon.Config) {
			if cfg.ShutdownGrace != 0 {
				t.Errorf("shutdown grace %v, want 0", cfg.ShutdownGrace)
			}
		}},
		{name: "negative shutdown grace", change: func(f *Up) { f.grace = -time.Second }, wantErr: "--shutdown-grace -1s: must not be negative"},
		{name: "unknown service", change: func(f *Up) { f.serve = "http:80,ftp:21" }, wantErr: `unknown service "ftp"`},
		{name: "bad log level", change: func(f *Up) { f.logLevel = "loud" }, wantErr: `--log-level "loud"`},
		{name: "bad log format", change: func(f *Up) { f.logFormat = "xml" }, wantErr: `--log-format "xml"`},
		{name: "bad device", change: func(f *Up) { f.Device.Dev = "a/b" }, wantErr: `--dev "a/b"`},
		{name: "bad netns", change: func(f *Up) { f.Device.NetNS = "../x" }, wantErr: `--netns "../x"`},

		{name: "frag memory", change: func(f *Up) { f.frag.memory, f.frag.timeout = "16MiB", 5*time.Second }, check: func(t *testing.T, cfg daemon.Config) {
			if cfg.FragMemory != 16<<20 || cfg.FragTimeout != 5*time.Second {
				t.Errorf("frag memory %d timeout %v", cfg.FragMemory, cfg.FragTimeout)
			}
		}},
		{name: "reassembly off", change: func(f *Up) { f.frag.memory = "0" }, check: func(t *testing.T, cfg daemon.Config) {
			if cfg.FragMemory >= 0 {
				t.Errorf("frag memory %d, want negative: reassembly off", cfg.FragMemory)
			}
		}},
		{name: "frag memory in bytes", change: func(f *Up) { f.frag.memory = "1048576" }, check: func(t *testing.T, cfg daemon.Config) {
			if cfg.FragMemory != 1<<20 {
				t.Errorf("frag memory %d", cfg.FragMemory)
			}
		}},
		{name: "frag memory too small", change: func(f *Up) { f.frag.memory = "64KiB" }, wantErr: "--frag-memory 64KiB: want 0 (reassembly off) or at least 128KiB"},
		{name: "frag memory garbage", change: func(f *Up) { f.frag.memory = "lots" }, wantErr: `--frag-memory "lots": want a size`},
		{name: "frag memory bad unit", change: func(f *Up) { f.frag.memory = "4MB/s" }, wantErr: `--frag-memory "4MB/s"`},
		{name: "negative frag timeout", change: func(f *Up) { f.frag.timeout = -time.Second }, wantErr: "--frag-timeout -1s"},
		{name: "frag timeout too long", change: func(f *Up) { f.frag.timeout = time.Hour }, wantErr: "--frag-timeout 1h0m0s"},
		{name: "listen queues", change: func(f *Up) { f.listen = listenFlags{backlog: 10, synBacklog: 20, synCookies: "never"} }, check: func(t *testing.T, cfg daemon.Config) {
			if cfg.Listen != (daemon.ListenConfig{Backlog: 10, SynBacklog: 20, SynCookies: stack.SynCookiesNever}) {
				t.Errorf("listen %+v", cfg.Listen)
			}
		}},
		{name: "syncookies always", change: func(f *Up) { f.listen.synCookies = "always" }, check: func(t *testing.T, cfg daemon.Config) {
			if cfg.Listen.SynCookies != stack.SynCookiesAlways {
				t.Errorf("listen %+v", cfg.Listen)
			}
		}},
		{name: "zero backlog", change: func(f *Up) { f.listen.backlog = 0 }, wantErr: "--backlog 0: want 1 to 1048576"},
		{name: "huge syn backlog", change: func(f *Up) { f.listen.synBacklog = 1 << 30 }, wantErr: "--syn-backlog 1073741824: want 1 to 1048576"},
		{name: "bad syncookies", change: func(f *Up) { f.listen.synCookies = "on" }, wantErr: `--syncookies "on": want auto, always or never`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := DefaultUp()
			tt.change(&f)
			cfg, err := f.Config()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("config() = %v, want valid", err)
				}
				if tt.check != nil {
					tt.check(t, cfg)
				}
				return
			}
			if err == nil {
				t.Fatalf("config() = valid, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("config() = %q, want it to contain %q", err, tt.wantErr)
			}
			if !usage.Is(err) {
				t.Errorf("config() error %q is not a usage error (exit 2)", err)
			}
		})
	}
}

func TestParseServe(t *testing.T) {
	tests := []struct {
		in      string
		want    []services.Spec
		wantErr string
	}{
		{in: "http:80,echo:7,discard:9", want: []services.Spec{{Name: "http", Port: 80}, {Name: "echo", Port: 7}, {Name: "discard", Port: 9}}},
		{in: " http:8080 , echo:7 ", want: []services.Spec{{Name: "http", Port: 8080}, {Name: "echo", Port: 7}}},
		{in: "echo:7,echo:70", want: []services.Spec{{Name: "echo", Port: 7}, {Name: "echo", Port: 70}}},
		{in: "discard:65535", want: []services.Spec{{Name: "discard", Port: 65535}}},
		{in: "echo:7,udp-echo:7", want: []services.Spec{{Name: "echo", Port: 7}, {Name: "udp-echo", Port: 7}}},
		{in: "udp-echo:7,udp-echo:07", wantErr: `port 7 is given to both udp-echo and udp-echo`},
		{in: "", want: nil},
		{in: "http", wantErr: `"http" is not NAME:PORT`},
		{in: "ftp:21", wantErr: `unknown service "ftp" (known: http, echo, discard, udp-echo, source, oneshot, hold)`},
		{in: "HTTP:80", wantErr: `unknown service "HTTP"`},
		{in: "http:0", wantErr: `bad port "0" for http`},
		{in: "http:65536", wantErr: `bad port "65536"`},
		{in: "http:-1", wantErr: `bad port "-1"`},
		{in: "http:eighty", wantErr: `bad port "eighty"`},
		{in: "http:", wantErr: `bad port ""`},
		{in: "http:80,", wantErr: `"" is not NAME:PORT`},
		{in: "http:80,echo:80", wantErr: "port 80 is given to both http and echo"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseServe(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseServe(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseServe(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseServe(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
