// Package sockaddr parses the network names and addresses of the net
// package's Listen and Dial calls the way both of tunstack's engines (the
// native stack and the gVisor adapter) accept them: IP literals only, no
// name lookup.
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
	want4, want6, err := Families(network)
	if err != nil {
		return netip.AddrPort{}, err
	}
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, err
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
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
	return netip.AddrPortFrom(a, uint16(port)), nil
}
