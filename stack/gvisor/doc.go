// Package gvisor runs gVisor's netstack (gvisor.dev/gvisor/pkg/tcpip) on a
// stack.Link, behind the same methods as *stack.Stack: Run, Listen,
// ListenPacket, DialContext, Shutdown, Connections, Counters and
// Subscribe. It lets the
// daemon answer with either TCP/IP implementation, tunstack's or gVisor's,
// on the same TUN code and services (`tunstack up --engine gvisor`), so
// that integration tests and benchmarks compare the two side by side.
//
// The adapter gives gVisor IPv4, IPv6, ICMP, TCP and UDP, the stack's addresses
// and a default route per family over one NIC whose link endpoint reads
// batches from the Link and writes what gVisor sends in batches. gVisor
// answers ICMP echo itself. Its options follow tunstack's defaults where
// gVisor has the same knob (SACK on, TIME-WAIT of 2*MSL, listen backlog
// 128) and are gVisor's own defaults otherwise.
//
// It can be a gateway, as the native stack can (ListenGateway,
// Options.UDPForward): TCP and UDP to addresses not the stack's reach a
// second NIC on the same link and gVisor's TCP and UDP forwarders there
// (foreign.go, gateway.go, gateway_udp.go).
//
// What it does not do: it records no events (Subscribe's channel never
// carries one), it knows no state history (ConnInfo.States holds the
// current state only), and Connections and Counters fill only the fields
// gVisor exposes; DialContext is TCP's only (ListenPacket opens UDP
// sockets). The stack package must not import this one: the
// dependency points from here to stack.
package gvisor
