// Package forward relays the connections that the stack accepts on a port
// to a real server, dialled with the host kernel's sockets (`tunstack up
// --forward`, `tunstack forward add`). The stack holds each client's SYN
// until the relay's own connect to the server has an answer
// (stack.ListenOptions.Admit; for the gateway on gVisor, its TCP
// forwarder: a SYN interface covers both): a server that accepts makes the stack send
// its SYN-ACK, one that refuses makes it answer the SYN with a RST, and
// one that does not answer leaves the client's connect to time out, as it
// would if the client talked to the server itself.
//
// Bytes are copied both ways through one fixed buffer each way: a side
// that does not read stops the relay's reads from the other side, whose
// window then closes, so nothing grows without bound. A FIN is passed on
// as a FIN (half-close: the other direction keeps flowing), a reset as a
// reset (SO_LINGER 0 on the kernel's socket, Abort on the stack's).
//
// It does not resolve names in the stack, balance between servers, or
// pass anything but TCP.
package forward

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Spec is one forward: the stack's port (on one of its addresses, or on
// all of them when Addr is invalid) and the server's HOST:PORT.
type Spec struct {
	Addr     netip.Addr // the stack's address; invalid: all of them
	Port     uint16
	Upstream string // HOST:PORT of the real server, dialled from the daemon's namespace
}

// Parse reads "[ADDR:]PORT=HOST:PORT", as --forward takes it:
// "8080=10.77.0.1:80", "10.77.0.2:8080=127.0.0.1:80",
// "[fd00:77::2]:8080=[fd00:77::1]:80".
func Parse(s string) (Spec, error) {
	listen, upstream, ok := strings.Cut(s, "=")
	if !ok {
		return Spec{}, fmt.Errorf("forward %q: want [ADDR:]PORT=HOST:PORT, like 8080=10.77.0.1:80", s)
	}
	var spec Spec
	portText := listen
	if strings.Contains(listen, ":") {
		host, p, err := net.SplitHostPort(listen)
		if err != nil {
			return Spec{}, fmt.Errorf("forward %q: listen address %q: want [ADDR:]PORT", s, listen)
		}
		if host != "" {
			addr, err := netip.ParseAddr(host)
			if err != nil {
				return Spec{}, fmt.Errorf("forward %q: %q is not an IP address of the stack", s, host)
			}
			spec.Addr = addr.Unmap()
		}
		portText = p
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return Spec{}, fmt.Errorf("forward %q: bad port %q (want 1-65535)", s, portText)
	}
	spec.Port = uint16(port)
	if err := CheckUpstream(upstream); err != nil {
		return Spec{}, fmt.Errorf("forward %q: %w", s, err)
	}
	spec.Upstream = upstream
	return spec, nil
}

// CheckUpstream checks that upstream is HOST:PORT with a port in 1-65535.
func CheckUpstream(upstream string) error {
	host, p, err := net.SplitHostPort(upstream)
	if err != nil || host == "" {
		return fmt.Errorf("upstream %q: want HOST:PORT, like 10.77.0.1:80 or [fd00:77::1]:80", upstream)
	}
	if port, err := strconv.ParseUint(p, 10, 16); err != nil || port == 0 {
		return fmt.Errorf("upstream %q: bad port %q (want 1-65535)", upstream, p)
	}
	return nil
}

// ListenAddress is the address the stack listens on, as Listen takes it.
func (s Spec) ListenAddress() string {
	host := ""
	if s.Addr.IsValid() {
		host = s.Addr.String()
	}
	return net.JoinHostPort(host, strconv.Itoa(int(s.Port)))
}

// String is the spec as Parse reads it.
func (s Spec) String() string {
	listen := strconv.Itoa(int(s.Port))
	if s.Addr.IsValid() {
		listen = s.ListenAddress()
	}
	return listen + "=" + s.Upstream
}
