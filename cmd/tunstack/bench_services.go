package main

import (
	"io"
	"net"
	"sync/atomic"

	"github.com/tunstack/tunstack/stack"
)

// The services `tunstack bench` needs beyond http, echo and discard. They
// serve any engine's listener, like the built-in ones, and are usable with
// --serve by anyone who wants to measure a stack by hand.

// sourceChunk is what the source service writes at a time.
const sourceChunk = 64 << 10

// serveSource sends bytes without end until the peer closes or resets:
// the stack→kernel direction of a bulk transfer (a chargen, RFC 864,
// without the line pattern).
func serveSource(ln net.Listener) error {
	chunk := make([]byte, sourceChunk)
	for i := range chunk {
		chunk[i] = byte('!' + i%94)
	}
	return stack.Serve(ln, func(c net.Conn) {
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
}

// serveOneShot reads one byte, sends it back and closes: the stack closes
// first, so the connection ends in TIME-WAIT on the stack's side. This is
// the connection of the bench's connection-rate and TIME-WAIT figures.
func serveOneShot(ln net.Listener) error {
	return stack.Serve(ln, func(c net.Conn) {
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return
		}
		c.Write(b[:])
	})
}

// heldConnections counts what serveHold holds, across its listeners, so
// that the bench can tell when the stack has accepted every connection.
var heldConnections atomic.Int64

// serveHold accepts connections and keeps them open and idle, with no
// goroutine and no buffer of its own, until the listener closes: what an
// idle connection costs is then the stack's part alone.
func serveHold(ln net.Listener) error {
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
		heldConnections.Add(-int64(len(held)))
	}()
	return stack.AcceptEach(ln, func(c net.Conn) {
		held = append(held, c)
		heldConnections.Add(1)
	})
}
