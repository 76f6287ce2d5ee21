// Package gateway makes the stack a namespace's network (`tunstack up
// --gateway`): it takes the TCP connections and UDP flows routed into the
// device for addresses that are not the stack's and relays each through
// a socket of the host kernel, opened in the namespace the daemon was
// started in (with --netns, the device and its clients live in the other
// namespace, as slirp4netns does for a container).
//
// TCP is the forward relay (package forward) with the client's own
// destination as its server: the stack terminates the client's TCP, holds
// its SYN until the relay's connect to the destination has an answer
// (accepted: SYN-ACK; refused: RST; no answer: nothing, the client times
// out), then copies the bytes both ways through bounded buffers, passing
// on FINs and resets. UDP is relayed as flows (udp.go), each a connected
// host socket closed after an idle time-out, as NAT does (RFC 4787 §4.3).
package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/forward"
	"github.com/tunstack/tunstack/stack/tcp"
)

// DefaultUDPTimeout is a UDP flow's idle time-out: RFC 4787 §4.3 (REQ-5)
// wants at least 2 minutes.
const DefaultUDPTimeout = 2 * time.Minute

// Config is how the gateway relays.
type Config struct {
	// To, if set (HOST:PORT), is where every relayed TCP connection and
	// UDP flow goes instead of its own destination (--gateway-to).
	To string
	// UDPTimeout closes a UDP flow idle that long (--gateway-udp-timeout);
	// zero means DefaultUDPTimeout.
	UDPTimeout time.Duration
}

// Upstream is where a connection or flow to dst is relayed.
func (c Config) Upstream(dst netip.AddrPort) string {
	if c.To != "" {
		return c.To
	}
	return dst.String()
}

// HostDialer dials with the host kernel's sockets of the namespace the
// calling goroutine runs in: the daemon's, where it was started.
func HostDialer(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// StartTCP listens with listen for TCP to every address not the stack's
// (NativeTCP, GVisorTCP: engines.go) and relays each connection to its
// destination (or cfg.To).
func StartTCP(listen forward.Listen, cfg Config, dial forward.Dialer, log *slog.Logger) (*forward.Forward, error) {
	upstream := func(id tcp.ID) string { return cfg.Upstream(id.Local) }
	return forward.StartWith(listen, upstream, dial, log.With("gateway", "tcp"))
}

// BufferBytes is what the flows relayed now hold in their buffers, two
// of datagramBuffer each (udp.go): memory outside the stack's buffer
// budget, which the daemon gives back to the system once it falls
// (daemon/memrelease.go).
func (u *UDP) BufferBytes() int64 { return int64(u.Counters().Active) * 2 * datagramBuffer }
