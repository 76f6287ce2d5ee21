package tundev

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestConfigDefaults(t *testing.T) {
	got, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != DefaultName || got.MTU != DefaultMTU || got.NetNS != "" || got.TxQueueLen != DefaultTxQueueLen {
		t.Errorf("defaults = %+v, want name %q, MTU %d, txqueuelen %d, current namespace", got, DefaultName, DefaultMTU, DefaultTxQueueLen)
	}
}

func TestConfigValidation(t *testing.T) {
	v4 := netip.MustParsePrefix("10.77.0.1/24")
	v6 := netip.MustParsePrefix("fd00:77::1/64")
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"typical", Config{Addrs: []netip.Prefix{v4, v6}, NetNS: "ns-1"}, true},
		{"longest name", Config{Name: strings.Repeat("a", 15)}, true},
		{"name too long", Config{Name: strings.Repeat("a", 16)}, false},
		{"name with slash", Config{Name: "a/b"}, false},
		{"name with space", Config{Name: "a b"}, false},
		{"name pattern", Config{Name: "tun%d"}, false},
		{"name dot", Config{Name: "."}, false},
		{"MTU too small", Config{MTU: 67}, false},
		{"MTU smallest", Config{MTU: 68, Addrs: []netip.Prefix{v4}}, true},
		{"MTU too large", Config{MTU: 65536}, false},
		{"IPv6 needs 1280", Config{MTU: 1279, Addrs: []netip.Prefix{v6}}, false},
		{"IPv6 at 1280", Config{MTU: 1280, Addrs: []netip.Prefix{v6}}, true},
		{"invalid prefix", Config{Addrs: []netip.Prefix{{}}}, false},
		{"4in6 prefix", Config{Addrs: []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.1/120")}}, false},
		{"netns with slash", Config{NetNS: "../x"}, false},
		{"netns dotdot", Config{NetNS: ".."}, false},
		{"negative txqueuelen", Config{TxQueueLen: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cfg.withDefaults()
			if tt.ok && err != nil {
				t.Errorf("withDefaults: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("withDefaults: err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestPrefixIPNetKeepsHostBits(t *testing.T) {
	tests := []struct{ prefix, want string }{
		{"10.77.0.1/24", "10.77.0.1/24"},
		{"fd00:77::1/64", "fd00:77::1/64"},
	}
	for _, tt := range tests {
		if got := prefixIPNet(netip.MustParsePrefix(tt.prefix)).String(); got != tt.want {
			t.Errorf("prefixIPNet(%s) = %s, want %s", tt.prefix, got, tt.want)
		}
	}
}
