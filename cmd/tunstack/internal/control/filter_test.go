package control

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

func TestParseStates(t *testing.T) {
	for _, tt := range []struct {
		in      []string
		want    []string
		wantErr bool
	}{
		{[]string{"established"}, []string{"ESTABLISHED"}, false},
		{[]string{"time-wait,syn-recv", "LISTEN"}, []string{"TIME-WAIT", "SYN-RECEIVED", "LISTEN"}, false},
		{[]string{"bucket"}, []string{"SYN-RECEIVED", "TIME-WAIT"}, false},
		{[]string{"synchronized"}, []string{"SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"}, false},
		{[]string{"established", "estab"}, []string{"ESTABLISHED"}, false},
		{[]string{"half-open"}, nil, true},
	} {
		got, err := ParseStates(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("ParseStates(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestConnFilter(t *testing.T) {
	server := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}
	client := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:49152"), Remote: netip.MustParseAddrPort("10.77.0.1:9000")}
	for _, tt := range []struct {
		name   string
		filter Filter
		id     tcp.ID
		state  tcp.State
		want   bool
	}{
		{"empty", Filter{}, server, tcp.Established, true},
		{"sport is the stack's", Filter{SPort: 80}, server, tcp.Established, true},
		{"sport of the other end", Filter{SPort: 40000}, server, tcp.Established, false},
		{"dport is the peer's", Filter{DPort: 9000}, client, tcp.Established, true},
		{"port at either end", Filter{Port: 9000}, client, tcp.Established, true},
		{"state", Filter{States: []string{"TIME-WAIT"}}, server, tcp.Established, false},
		{"local address", Filter{Local: "10.77.0.2"}, server, tcp.Established, true},
		{"local :port", Filter{Local: ":80"}, server, tcp.Established, true},
		{"remote addr:port", Filter{Remote: "10.77.0.1:40000"}, server, tcp.Established, true},
		{"remote other", Filter{Remote: "10.77.0.3"}, server, tcp.Established, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.filter.Compile()
			if err != nil {
				t.Fatal(err)
			}
			e := stack.Event{Kind: stack.EventSegmentIn, Conn: tt.id, State: tt.state}
			if got := m.MatchEvent(&e); got != tt.want {
				t.Errorf("matchEvent = %v, want %v", got, tt.want)
			}
			c := ConnStatus{Local: tt.id.Local.String(), Remote: tt.id.Remote.String(), State: tt.state.String()}
			if got := m.MatchConn(&c); got != tt.want {
				t.Errorf("matchConn = %v, want %v", got, tt.want)
			}
		})
	}
	// A state change matches the state it leaves and the one it enters.
	m, _ := (&Filter{States: []string{"LAST-ACK"}}).Compile()
	leave := stack.Event{Kind: stack.EventStateChange, Conn: server, From: tcp.LastAck, To: tcp.Closed, State: tcp.Closed}
	if !m.MatchEvent(&leave) {
		t.Error("LAST-ACK → CLOSED does not match state LAST-ACK")
	}
	// A drop before demultiplexing matches only an empty filter.
	drop := stack.Event{Kind: stack.EventDrop, Detail: "ip-bad-checksum"}
	if m.MatchEvent(&drop) {
		t.Error("a drop without a connection matches a state filter")
	}
	if all, _ := (&Filter{}).Compile(); !all.MatchEvent(&drop) {
		t.Error("a drop without a connection does not match the empty filter")
	}
	// A listener has no peer: a remote filter never matches it.
	listener := ConnStatus{Local: "10.77.0.2:80", Remote: "*", State: "LISTEN"}
	if m, _ := (&Filter{DPort: 80}).Compile(); m.MatchConn(&listener) {
		t.Error("--dport matched a listener")
	}
	if m, _ := (&Filter{SPort: 80}).Compile(); !m.MatchConn(&listener) {
		t.Error("--sport did not match a listener on that port")
	}
	for _, bad := range []Filter{{Local: "nowhere"}, {Remote: ":0"}, {States: []string{"SYN-RCVD"}}} {
		if _, err := bad.Compile(); err == nil {
			t.Errorf("%+v compiled", bad)
		}
	}
}
