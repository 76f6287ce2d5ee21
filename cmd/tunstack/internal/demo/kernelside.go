package demo

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/tunstack/tunstack/tundev"
)

// The kernel's end of the demo's own connections: Go sockets opened in the
// demo's namespace, which stay there whichever thread uses them, so that
// the demo closes them exactly when a step needs it. They close their
// sending side with shutdown(SHUT_WR) (CloseWrite) and keep the socket
// open until the connection is over: a socket its program has closed
// becomes an orphan, which Linux hands to a FIN-WAIT-2 mini-socket whose
// later changes no tracepoint reports.

// kernelListen opens a listener of the kernel's on its address, on a port
// the kernel picks.
func (s *session) kernelListen() (*net.TCPListener, error) {
	var ln *net.TCPListener
	err := tundev.InNetNS(s.setup.NetNS, func() error {
		var err error
		ln, err = net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(netip.AddrPortFrom(s.kernelAddr(), 0)))
		return err
	})
	return ln, err
}

// kernelDial connects from the kernel's address to addr.
func (s *session) kernelDial(ctx context.Context, addr netip.AddrPort) (*net.TCPConn, error) {
	var c net.Conn
	err := tundev.InNetNS(s.setup.NetNS, func() error {
		d := net.Dialer{Timeout: stepTimeout}
		var err error
		c, err = d.DialContext(ctx, "tcp4", addr.String())
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// accept waits for one connection on ln, for at most stepTimeout.
func accept(ln *net.TCPListener) <-chan acceptResult {
	ch := make(chan acceptResult, 1)
	ln.SetDeadline(time.Now().Add(stepTimeout))
	go func() {
		c, err := ln.AcceptTCP()
		ch <- acceptResult{c, err}
	}()
	return ch
}

type acceptResult struct {
	conn *net.TCPConn
	err  error
}
