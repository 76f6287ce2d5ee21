package control

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Operations.
const (
	OpDial     = "dial"
	OpStatus   = "status"
	OpEvents   = "events"
	OpMemstats = "memstats"
)

// Dial time-outs: the one a dial request without a timeout gets, and the
// longest one the daemon takes.
const (
	DefaultDialTimeout = 10 * time.Second
	MaxDialTimeout     = 5 * time.Minute
)

// Request is the one line a client sends.
type Request struct {
	Op      string `json:"op"`
	Addr    string `json:"addr,omitempty"`
	Timeout string `json:"timeout,omitempty"`
	// Filter selects the events of an events request.
	Filter *Filter `json:"filter,omitempty"`
	// Faults and forwards (manage.go): the fault to add, the name of
	// the one to remove (or All), the forward to add as --forward takes
	// it, the port of the one to remove.
	Fault   *FaultSpec `json:"fault,omitempty"`
	Replace bool       `json:"replace,omitempty"`
	Name    string     `json:"name,omitempty"`
	All     bool       `json:"all,omitempty"`
	Forward string     `json:"forward,omitempty"`
	Port    uint16     `json:"port,omitempty"`
}

// Reply is the one line the daemon answers.
type Reply struct {
	OK    bool   `json:"ok,omitempty"`
	Error string `json:"error,omitempty"`
	// dial
	Local  string `json:"local,omitempty"`
	Remote string `json:"remote,omitempty"`
	// status
	Counters    *CounterStatus `json:"counters,omitempty"`
	Connections []ConnStatus   `json:"connections,omitempty"`
	UDPSockets  []UDPSocket    `json:"udp_sockets,omitempty"` // udp.go
	Gateway     *GatewayStatus `json:"gateway,omitempty"`     // gateway.go
	// faults and forwards
	Faults   []FaultSpec     `json:"faults,omitempty"`
	Forwards []ForwardStatus `json:"forwards,omitempty"`
}

// ParseDialTarget checks the HOST:PORT of a dial: the stack has no
// resolver, so HOST must be an IP address. An IPv4-mapped address becomes
// IPv4.
func ParseDialTarget(target string) (netip.AddrPort, error) {
	host, portText, err := net.SplitHostPort(target)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: want HOST:PORT, like 10.77.0.1:9000 or [fd00:77::1]:9000", target)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: %q is not an IP address (the stack does not resolve names)", target, host)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, fmt.Errorf("%q: bad port %q (want 1-65535)", target, portText)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}
