package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/clitest"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/tests/testkit"
	"github.com/tunstack/tunstack/tundev"
)

func TestMemoryConfigApply(t *testing.T) {
	var opts stack.Options
	MemoryConfig{BufferBudget: 128 << 20, MaxConns: 1000, MaxConnsPerPeer: 10}.apply(&opts)
	if opts.BufferBudget != 128<<20 || opts.MaxConns != 1000 || opts.MaxConnsPerPeer != 10 {
		t.Fatalf("options %+v", opts)
	}
}

// TestDeviceErrors: what the user is told when the device cannot be
// opened, and whether the command line must change (a usage error).
func TestDeviceErrors(t *testing.T) {
	cfg := Config{Dev: "tunstack0"}
	for _, tt := range []struct {
		err   error
		want  string
		usage bool
	}{
		{fmt.Errorf("opening: %w", tundev.ErrPermission), "creating TUN device needs CAP_NET_ADMIN: run as root (sudo tunstack up)", false},
		{tundev.ErrDeviceBusy, "device tunstack0 is in use (another tunstack up, or an existing link of that name): pick another --dev", true},
		{fmt.Errorf("mtu 70000: %w", tundev.ErrInvalidConfig), "mtu 70000: " + tundev.ErrInvalidConfig.Error(), true},
		{errors.New("netlink: no buffer space"), "netlink: no buffer space", false},
		{fmt.Errorf("opening: %w", &tundev.RouteConflictError{Prefix: netip.MustParsePrefix("10.77.0.1/24"), Route: "10.77.0.0/24 dev tunstack1 proto kernel"}),
			"--addr 10.77.0.1/24 overlaps the route 10.77.0.0/24 dev tunstack1 proto kernel already in this namespace: pick another --addr and --ip, or remove that route", true},
		{&tundev.RouteConflictError{Prefix: netip.MustParsePrefix("fd00:77::1/64"), Route: "fd00::/8 via fd00:1::1 dev eth0"},
			"--addr6 fd00:77::1/64 overlaps the route fd00::/8 via fd00:1::1 dev eth0 already in this namespace: pick another --addr6 and --ip6, or remove that route", true},
	} {
		err := deviceError(cfg, tt.err, "tunstack up")
		if err.Error() != tt.want || usage.Is(err) != tt.usage {
			t.Errorf("deviceError(%v) = %q (usage error %v), want %q (%v)", tt.err, err, usage.Is(err), tt.want, tt.usage)
		}
	}
}

// TestStartChecksBeforeDevice: a --pcap file that cannot be created and
// a control socket another daemon answers on are refused before the
// namespace and the device are made: nothing is left, and the device was
// never up.
func TestStartChecksBeforeDevice(t *testing.T) {
	testkit.RequireRoot(t)
	dir := testkit.ShortTempDir(t)
	taken := filepath.Join(dir, "taken.sock")
	ln, err := net.Listen("unix", taken)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tt := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"pcap", func(c *Config) { c.PCAP = filepath.Join(dir, "no-such-dir", "x.pcapng") }, "--pcap " + filepath.Join(dir, "no-such-dir", "x.pcapng") + ": "},
		{"control", func(c *Config) { c.Control = taken }, "control socket " + taken + ": another daemon is listening on it: pick another --control"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ns := clitest.NetNS(t)
			cfg := testConfig(ns, filepath.Join(dir, tt.name+".sock"))
			tt.change(&cfg)
			var logged testkit.Buffer
			_, err := Start(cfg, slog.New(slog.NewTextHandler(&logged, nil)), "tunstack up", nil)
			if err == nil || !usage.Is(err) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Start = %v, want a usage error starting %q", err, tt.want)
			}
			if strings.Contains(logged.String(), "device up") {
				t.Errorf("the device was up before the error:\n%s", logged.String())
			}
			if testkit.NamespaceExists(ns) {
				t.Errorf("namespace %s left behind", ns)
			}
			if tt.name != "control" {
				if _, err := os.Stat(cfg.Control); err == nil {
					t.Error("control socket left behind")
				}
			}
		})
	}
}

// testConfig is a daemon on tunstack0 in namespace ns with IPv4 only and
// no services.
func testConfig(ns, control string) Config {
	return Config{
		Dev: "tunstack0", NetNS: ns, Control: control,
		Addr: netip.MustParsePrefix("10.77.0.1/24"), IP: netip.MustParseAddr("10.77.0.2"),
		MTU: 1500, Engine: EngineNative,
	}
}
