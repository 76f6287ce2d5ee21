package services

import (
	"net"

	"github.com/tunstack/tunstack/stack"
)

// packetHandlers are the UDP services by name.
var packetHandlers = map[string]func(net.PacketConn) error{
	"udp-echo": stack.ServeUDPEcho,
}

// PacketHandler is the UDP service called name, which serves one socket
// until it closes and then returns nil; nil for a TCP service or a name
// not in Names.
func PacketHandler(name string) func(net.PacketConn) error { return packetHandlers[name] }

// Network is the transport of the service called name: "udp" for a UDP
// service, else "tcp".
func Network(name string) string {
	if packetHandlers[name] != nil {
		return "udp"
	}
	return "tcp"
}
