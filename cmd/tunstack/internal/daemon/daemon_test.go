package daemon

import (
	"errors"
	"fmt"
	"log/slog"
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
	} {
		err := deviceError(cfg, tt.err, "tunstack up")
		if err.Error() != tt.want || usage.Is(err) != tt.usage {
			t.Errorf("deviceError(%v) = %q (usage error %v), want %q (%v)", tt.err, err, usage.Is(err), tt.want, tt.usage)
		}
	}
}

// TestStartUndoesWhatItDid: a Start that fails after it made the
// namespace and the device (here at the --pcap file) removes them again
// and leaves no control socket.
func TestStartUndoesWhatItDid(t *testing.T) {
	testkit.RequireRoot(t)
	ns := clitest.NetNS(t)
	dir := testkit.ShortTempDir(t)
	cfg := testConfig(ns, filepath.Join(dir, "ctl.sock"))
	cfg.PCAP = filepath.Join(dir, "no-such-dir", "x.pcapng")
	_, err := Start(cfg, slog.New(slog.DiscardHandler), "tunstack up", nil)
	if err == nil || !usage.Is(err) || !strings.HasPrefix(err.Error(), "--pcap "+cfg.PCAP+": ") {
		t.Fatalf("Start with a --pcap in a missing directory = %v, want a usage error about --pcap", err)
	}
	if _, err := os.Stat("/run/netns/" + ns); err == nil {
		t.Errorf("namespace %s left behind", ns)
	}
	if _, err := os.Stat(cfg.Control); err == nil {
		t.Error("control socket left behind")
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
