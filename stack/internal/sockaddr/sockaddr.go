// Package sockaddr parses the network names and addresses of the net
// package's Listen and Dial calls the way both TCP/IP implementations of
// tunstack (the native stack and the gVisor adapter) accept them: IP
// literals only. It does no name lookup and knows no network but tcp,
// tcp4 and tcp6, and udp, udp4 and udp6 for UDP's calls (udp.go).
package sockaddr

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
)

// ErrNotIP: the host is a name; the stacks do not resolve names.
var ErrNotIP = errors.New("stack: not an IP address (the stack does not resolve names)")

// Families says which address families a network name allows: "tcp" both,
// "tcp4" IPv4, "tcp6" IPv6.
func Families(network string) (want4, want6 bool, err error) {
	switch network {
	case "tcp":
		return true, true, nil
	case "tcp4":
		return true, false, nil
	case "tcp6":
		return false, true, nil
	}
	return false, false, net.UnknownNetworkError(network)
}

// Dial parses the "ip:port" of a Dial on network: a unicast address of a
// family the network allows, IPv4-mapped addresses unmapped, a port above 0.
func Dial(network, address string) (netip.AddrPort, error) {
	return dial(Families, network, address)
}

func dial(families func(string) (bool, bool, error), network, address string) (netip.AddrPort, error) {
	want4, want6, host, port, err := split(families, network, address)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if port == 0 {
		return netip.AddrPort{}, &net.AddrError{Err: "invalid port", Addr: address}
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, ErrNotIP
	}
	a = a.Unmap()
	if (a.Is4() && !want4) || (a.Is6() && !want6) {
		return netip.AddrPort{}, &net.AddrError{Err: "address of the wrong family", Addr: host}
	}
	if a.IsUnspecified() || a.IsMulticast() {
		return netip.AddrPort{}, &net.AddrError{Err: "not a unicast address", Addr: host}
	}
	return netip.AddrPortFrom(a, port), nil
}

// ListenAddr is the parsed address of a Listen call.
type ListenAddr struct {
	Want4, Want6 bool       // the families the network allows
	Addr         netip.Addr // the IP to listen on; invalid: none named, every local one
	Port         uint16     // 0: the stack picks one
}

// Listen parses the "[ip]:port" of a Listen on network. A named IP must be
// of a family the network allows (IPv4-mapped addresses are unmapped); it
// may be unspecified. Whether it is one of the stack's addresses is the
// stack's to say.
func Listen(network, address string) (ListenAddr, error) {
	return listen(Families, network, address)
}

func listen(families func(string) (bool, bool, error), network, address string) (ListenAddr, error) {
	want4, want6, host, port, err := split(families, network, address)
	if err != nil {
		return ListenAddr{}, err
	}
	la := ListenAddr{Want4: want4, Want6: want6, Port: port}
	if host == "" {
		return la, nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return ListenAddr{}, &net.AddrError{Err: "not an IP address", Addr: host}
	}
	a = a.Unmap()
	if (a.Is4() && !want4) || (a.Is6() && !want6) {
		return ListenAddr{}, &net.AddrError{Err: "address of the wrong family", Addr: host}
	}
	la.Addr = a
	return la, nil
}

// split checks the network name and splits "host:port" into the host and
// a 16-bit port.
func split(families func(string) (bool, bool, error), network, address string) (want4, want6 bool, host string, port uint16, err error) {
	if want4, want6, err = families(network); err != nil {
		return false, false, "", 0, err
	}
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return false, false, "", 0, err
	}
	p, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return false, false, "", 0, &net.AddrError{Err: "invalid port", Addr: address}
	}
	return want4, want6, host, uint16(p), nil
}
