package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// connFilter selects connections by state and by their ends, for `tunstack
// ss` and `tunstack trace`; the events operation takes it as its filter.
// Empty fields match everything. Ports follow ss: the source port is the
// stack's end of the connection, the destination port the peer's.
type connFilter struct {
	States []string `json:"states,omitempty"` // RFC names: "TIME-WAIT"
	Local  string   `json:"local,omitempty"`  // ADDR, ADDR:PORT or :PORT
	Remote string   `json:"remote,omitempty"`
	Port   uint16   `json:"port,omitempty"`  // either end
	SPort  uint16   `json:"sport,omitempty"` // the stack's end
	DPort  uint16   `json:"dport,omitempty"` // the peer's end
}

// registerEnds adds the filter's flags for the ends of a connection
// (--sport, --dport, --port, --local, --remote), which ss and trace share.
func (f *connFilter) registerEnds(fs *pflag.FlagSet) {
	fs.Uint16Var(&f.SPort, "sport", 0, "only connections whose stack end has this port")
	fs.Uint16Var(&f.DPort, "dport", 0, "only connections whose peer end has this port")
	fs.Uint16Var(&f.Port, "port", 0, "only connections with this port at either end")
	fs.StringVar(&f.Local, "local", "", "only connections whose stack end is ADDR, ADDR:PORT or :PORT")
	fs.StringVar(&f.Remote, "remote", "", "only connections whose peer end is ADDR, ADDR:PORT or :PORT")
}

// connMatcher is a connFilter ready to match.
type connMatcher struct {
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

// compile checks the filter and prepares it for matching. Its errors are
// usage errors.
func (f *connFilter) compile() (*connMatcher, error) {
	m := &connMatcher{port: f.Port, sport: f.SPort, dport: f.DPort}
	for _, name := range f.States {
		st, ok := parseStateName(name)
		if !ok {
			return nil, usageErrorf("state %q: want an RFC 9293 state name such as ESTABLISHED or TIME-WAIT", name)
		}
		if m.states == nil {
			m.states = map[tcp.State]bool{}
		}
		m.states[st] = true
	}
	var err error
	if m.local, err = parseEndpointPattern(f.Local); err != nil {
		return nil, usageErrorf("local %q: %v", f.Local, err)
	}
	if m.remote, err = parseEndpointPattern(f.Remote); err != nil {
		return nil, usageErrorf("remote %q: %v", f.Remote, err)
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
func (m *connMatcher) matchID(id tcp.ID) bool {
	return m.local.match(id.Local) && m.remote.match(id.Remote) &&
		(m.port == 0 || id.Local.Port() == m.port || id.Remote.Port() == m.port) &&
		(m.sport == 0 || id.Local.Port() == m.sport) &&
		(m.dport == 0 || id.Remote.Port() == m.dport)
}

func (m *connMatcher) matchState(st tcp.State) bool { return m.states == nil || m.states[st] }

// matchEvent reports whether an event is about a matching connection in a
// matching state: for a state change, the state it leaves or enters.
// Events without a connection (packets dropped before demultiplexing)
// match only a filter that asks for nothing.
func (m *connMatcher) matchEvent(e *stack.Event) bool {
	if e.Conn == (tcp.ID{}) {
		return m.matchesAll()
	}
	if !m.matchID(e.Conn) {
		return false
	}
	if e.Kind == stack.EventStateChange {
		return m.matchState(e.From) || m.matchState(e.To)
	}
	return m.matchState(e.State)
}

// matchConn reports whether a connection of a status reply matches. A
// listener's remote end ("*") matches no remote address or port.
func (m *connMatcher) matchConn(c *connStatus) bool {
	st, _ := parseStateName(c.State)
	local, _ := netip.ParseAddrPort(c.Local)
	remote, _ := netip.ParseAddrPort(c.Remote)
	return m.matchState(st) && m.matchID(tcp.ID{Local: local, Remote: remote})
}

func (m *connMatcher) matchesAll() bool {
	return m.states == nil && m.local == (endpointPattern{}) && m.remote == (endpointPattern{}) &&
		m.port == 0 && m.sport == 0 && m.dport == 0
}

// State names as ss takes them (ss(8), STATE-FILTER), besides the RFC
// names in any case: the ss spellings and its groups of states.
var ssStateAliases = map[string][]tcp.State{
	"syn-recv":  {tcp.SynReceived},
	"listening": {tcp.Listen},
	"estab":     {tcp.Established},
	"all": {tcp.Closed, tcp.Listen, tcp.SynSent, tcp.SynReceived, tcp.Established, tcp.FinWait1,
		tcp.FinWait2, tcp.CloseWait, tcp.Closing, tcp.LastAck, tcp.TimeWait},
	"connected": {tcp.SynSent, tcp.SynReceived, tcp.Established, tcp.FinWait1, tcp.FinWait2,
		tcp.CloseWait, tcp.Closing, tcp.LastAck, tcp.TimeWait},
	"synchronized": {tcp.SynReceived, tcp.Established, tcp.FinWait1, tcp.FinWait2,
		tcp.CloseWait, tcp.Closing, tcp.LastAck, tcp.TimeWait},
	"bucket": {tcp.SynReceived, tcp.TimeWait},
	"big": {tcp.Closed, tcp.Listen, tcp.SynSent, tcp.Established, tcp.FinWait1, tcp.FinWait2,
		tcp.CloseWait, tcp.Closing, tcp.LastAck},
}

// parseStates reads state names as ss takes them ("established",
// "time-wait", "syn-recv", "connected", ...), comma-separated or one per
// value, and returns RFC names.
func parseStates(values []string) ([]string, error) {
	var names []string
	add := func(st tcp.State) {
		if !slices.Contains(names, st.String()) {
			names = append(names, st.String())
		}
	}
	for _, v := range values {
		for _, name := range strings.Split(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if group, ok := ssStateAliases[name]; ok {
				for _, st := range group {
					add(st)
				}
				continue
			}
			st, ok := parseStateName(strings.ToUpper(name))
			if !ok {
				return nil, usageErrorf("unknown state %q: want an RFC 9293 state (established, syn-sent, syn-received, fin-wait-1, fin-wait-2, close-wait, closing, last-ack, time-wait, listen, closed) or all, connected, synchronized, bucket, big", name)
			}
			add(st)
		}
	}
	return names, nil
}
