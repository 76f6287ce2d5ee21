package control

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// Filter selects connections by state and by their ends, for `tunstack
// ss` and `tunstack trace`; the events operation takes it as its filter.
// Empty fields match everything. Ports follow ss: the source port is the
// stack's end of the connection, the destination port the peer's.
type Filter struct {
	States []string `json:"states,omitempty"` // RFC names: "TIME-WAIT"
	Local  string   `json:"local,omitempty"`  // ADDR, ADDR:PORT or :PORT
	Remote string   `json:"remote,omitempty"`
	Port   uint16   `json:"port,omitempty"`  // either end
	SPort  uint16   `json:"sport,omitempty"` // the stack's end
	DPort  uint16   `json:"dport,omitempty"` // the peer's end
}

// Matcher is a Filter ready to match.
type Matcher struct {
	states        map[tcp.State]bool // nil: any
	local, remote endpointPattern
	port, sport   uint16
	dport         uint16
}

// endpointPattern matches an address, a port, or both; zero matches all.
type endpointPattern struct {
	addr netip.Addr
	port uint16
}

func (p endpointPattern) match(a netip.AddrPort) bool {
	return (!p.addr.IsValid() || p.addr == a.Addr().Unmap()) && (p.port == 0 || p.port == a.Port())
}

// Compile checks the filter and prepares it for matching.
func (f *Filter) Compile() (*Matcher, error) {
	m := &Matcher{port: f.Port, sport: f.SPort, dport: f.DPort}
	for _, name := range f.States {
		st, ok := ParseState(name)
		if !ok {
			return nil, fmt.Errorf("state %q: want an RFC 9293 state name such as ESTABLISHED or TIME-WAIT", name)
		}
		if m.states == nil {
			m.states = map[tcp.State]bool{}
		}
		m.states[st] = true
	}
	var err error
	if m.local, err = parseEndpointPattern(f.Local); err != nil {
		return nil, fmt.Errorf("local %q: %v", f.Local, err)
	}
	if m.remote, err = parseEndpointPattern(f.Remote); err != nil {
		return nil, fmt.Errorf("remote %q: %v", f.Remote, err)
	}
	return m, nil
}

// parseEndpointPattern reads "10.77.0.1", "10.77.0.1:80", "[fd00:77::1]:80",
// ":80" or "*:80".
func parseEndpointPattern(s string) (endpointPattern, error) {
	switch {
	case s == "" || s == "*":
		return endpointPattern{}, nil
	case strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*:"):
		_, portText, _ := strings.Cut(s, ":")
		port, err := strconv.ParseUint(portText, 10, 16)
		if err != nil || port == 0 {
			return endpointPattern{}, fmt.Errorf("want a port from 1 to 65535")
		}
		return endpointPattern{port: uint16(port)}, nil
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return endpointPattern{addr: ap.Addr().Unmap(), port: ap.Port()}, nil
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return endpointPattern{}, fmt.Errorf("want ADDR, ADDR:PORT or :PORT")
	}
	return endpointPattern{addr: a.Unmap()}, nil
}

// matchID reports whether a connection's ends match; id is from the
// stack's side.
func (m *Matcher) matchID(id tcp.ID) bool {
	return m.local.match(id.Local) && m.remote.match(id.Remote) &&
		(m.port == 0 || id.Local.Port() == m.port || id.Remote.Port() == m.port) &&
		(m.sport == 0 || id.Local.Port() == m.sport) &&
		(m.dport == 0 || id.Remote.Port() == m.dport)
}

// MatchState reports whether a connection in st passes the filter.
func (m *Matcher) MatchState(st tcp.State) bool { return m.states == nil || m.states[st] }

// MatchEvent reports whether an event is about a matching connection in a
// matching state: for a state change, the state it leaves or enters.
// Events without a connection (packets dropped before demultiplexing)
// match only a filter that asks for nothing.
func (m *Matcher) MatchEvent(e *stack.Event) bool {
	if e.Conn == (tcp.ID{}) {
		return m.MatchesAll()
	}
	if !m.matchID(e.Conn) {
		return false
	}
	if e.Kind == stack.EventStateChange {
		return m.MatchState(e.From) || m.MatchState(e.To)
	}
	return m.MatchState(e.State)
}

// MatchConn reports whether a connection of a status reply matches. A
// listener's remote end ("*") matches no remote address or port.
func (m *Matcher) MatchConn(c *ConnStatus) bool {
	st, _ := ParseState(c.State)
	local, _ := netip.ParseAddrPort(c.Local)
	remote, _ := netip.ParseAddrPort(c.Remote)
	return m.MatchState(st) && m.matchID(tcp.ID{Local: local, Remote: remote})
}

// MatchesAll reports whether the filter asks for nothing.
func (m *Matcher) MatchesAll() bool {
	return m.states == nil && m.local == (endpointPattern{}) && m.remote == (endpointPattern{}) &&
		m.port == 0 && m.sport == 0 && m.dport == 0
}

// HasStates reports whether the filter selects states at all.
func (m *Matcher) HasStates() bool { return m.states != nil }
