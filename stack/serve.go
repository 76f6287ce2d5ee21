package stack

import "net"

// Serve is the loop of every service, the built-in ones here and those of
// the command line: it accepts connections on ln until ln is closed and
// runs handle on each in a goroutine of its own, closing the connection
// when handle returns. It returns nil once ln is closed, or the error that
// ended Accept; connections already open finish on their own. ln may be
// any net.Listener, of this stack or another engine.
func Serve(ln net.Listener, handle func(net.Conn)) error {
	return AcceptEach(ln, func(c net.Conn) {
		go func() {
			defer c.Close()
			handle(c)
		}()
	})
}

// AcceptEach is Serve's loop without a goroutine per connection: take runs
// on the accepting goroutine and owns the connection it is given. It is
// for a service that keeps connections without serving them (the bench's
// hold service), where a goroutine each would be part of what it measures.
func AcceptEach(ln net.Listener, take func(net.Conn)) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return ignoreClosed(err)
		}
		take(c)
	}
}
