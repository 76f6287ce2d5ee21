package sockaddr

import (
	"errors"
	"net/netip"
	"testing"
)

func TestDial(t *testing.T) {
	for _, tt := range []struct {
		network, address string
		want             string // "" for an error
	}{
		{"tcp", "10.77.0.1:80", "10.77.0.1:80"},
		{"tcp", "[::ffff:10.77.0.1]:80", "10.77.0.1:80"},
		{"tcp6", "[fd00:77::1]:7", "[fd00:77::1]:7"},
		{"tcp4", "[fd00:77::1]:7", ""},
		{"tcp6", "10.77.0.1:7", ""},
		{"tcp", "10.77.0.1:0", ""},
		{"tcp", "10.77.0.1:70000", ""},
		{"tcp", "0.0.0.0:80", ""},
		{"tcp", "224.0.0.1:80", ""},
		{"udp", "10.77.0.1:80", ""},
		{"tcp", "10.77.0.1", ""},
	} {
		got, err := Dial(tt.network, tt.address)
		if tt.want == "" {
			if err == nil {
				t.Errorf("Dial(%q, %q) = %v, want an error", tt.network, tt.address, got)
			}
			continue
		}
		if err != nil || got != netip.MustParseAddrPort(tt.want) {
			t.Errorf("Dial(%q, %q) = %v, %v; want %s", tt.network, tt.address, got, err, tt.want)
		}
	}
	if _, err := Dial("tcp", "example.org:80"); !errors.Is(err, ErrNotIP) {
		t.Errorf("a name: %v, want ErrNotIP", err)
	}
}

func TestListen(t *testing.T) {
	for _, tt := range []struct {
		network, address string
		want             ListenAddr
		wantErr          bool
	}{
		{"tcp", ":80", ListenAddr{Want4: true, Want6: true, Port: 80}, false},
		{"tcp4", ":0", ListenAddr{Want4: true}, false},
		{"tcp6", "[::]:7", ListenAddr{Want6: true, Addr: netip.IPv6Unspecified(), Port: 7}, false},
		{"tcp", "[::ffff:10.77.0.2]:9", ListenAddr{Want4: true, Want6: true, Addr: netip.MustParseAddr("10.77.0.2"), Port: 9}, false},
		{"tcp6", "10.77.0.2:9", ListenAddr{}, true},
		{"tcp4", "[fd00:77::2]:9", ListenAddr{}, true},
		{"tcp", "example.org:80", ListenAddr{}, true},
		{"tcp", ":70000", ListenAddr{}, true},
		{"udp", ":80", ListenAddr{}, true},
		{"tcp", "80", ListenAddr{}, true},
	} {
		got, err := Listen(tt.network, tt.address)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Listen(%q, %q) = %+v, %v; want %+v, error %v", tt.network, tt.address, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestUDPNames(t *testing.T) {
	if _, err := DialUDP("udp6", "[fd00:77::1]:53"); err != nil {
		t.Errorf("DialUDP udp6: %v", err)
	}
	if _, err := DialUDP("udp4", "[fd00:77::1]:53"); err == nil {
		t.Error("DialUDP udp4 to an IPv6 address: no error")
	}
	if _, err := Dial("udp", "10.77.0.1:53"); err == nil {
		t.Error(`TCP's Dial took "udp"`)
	}
	if _, err := ListenUDP("tcp", ":53"); err == nil {
		t.Error(`ListenUDP took "tcp"`)
	}
	if la, err := ListenUDP("udp", ":7"); err != nil || !la.Want4 || !la.Want6 || la.Port != 7 {
		t.Errorf("ListenUDP udp :7 = %+v, %v", la, err)
	}
	if !IsUDP("udp4") || IsUDP("tcp") {
		t.Error("IsUDP")
	}
}
