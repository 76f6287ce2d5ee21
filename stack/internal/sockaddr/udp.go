package sockaddr

import (
	"net"
	"net/netip"
)

// UDPFamilies is Families for UDP's network names: "udp" both, "udp4"
// IPv4, "udp6" IPv6.
func UDPFamilies(network string) (want4, want6 bool, err error) {
	switch network {
	case "udp":
		return true, true, nil
	case "udp4":
		return true, false, nil
	case "udp6":
		return false, true, nil
	}
	return false, false, net.UnknownNetworkError(network)
}

// IsUDP reports whether network is one of UDP's names.
func IsUDP(network string) bool {
	_, _, err := UDPFamilies(network)
	return err == nil
}

// DialUDP is Dial for UDP's network names.
func DialUDP(network, address string) (netip.AddrPort, error) {
	return dial(UDPFamilies, network, address)
}

// ListenUDP is Listen for UDP's network names.
func ListenUDP(network, address string) (ListenAddr, error) {
	return listen(UDPFamilies, network, address)
}
