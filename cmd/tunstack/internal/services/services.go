// Package services is the daemon's built-in services by the names --serve
// takes: http, echo and discard (stack.ServeHTTP, ServeEcho and
// ServeDiscard), udp-echo on UDP (stack.ServeUDPEcho, udp.go), and source,
// oneshot and hold, which `tunstack bench` measures with and anyone can
// use to measure a stack by hand. Each TCP service serves any engine's
// listener; all but http (net/http's own loop) run on stack.Serve's loop.
//
// It parses no flag and opens no listener: the daemon gives each service
// the listener of its port.
package services

import (
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/tunstack/tunstack/stack"
)

// Names are the services --serve knows, in the order its help lists them.
var Names = []string{"http", "echo", "discard", "udp-echo", "source", "oneshot", "hold"}

// handlers are the services by name.
var handlers = map[string]func(net.Listener) error{
	"http":    stack.ServeHTTP,
	"echo":    stack.ServeEcho,
	"discard": stack.ServeDiscard,
	"source":  ServeSource,
	"oneshot": ServeOneShot,
	"hold":    ServeHold,
}

// Handler is the TCP service called name, which serves one listener until
// it closes and then returns nil; nil for a name not in Names or a UDP
// service (PacketHandler).
func Handler(name string) func(net.Listener) error { return handlers[name] }

// Spec is one service on one port.
type Spec struct {
	Name string
	Port uint16
}

func (s Spec) String() string { return s.Name + ":" + strconv.Itoa(int(s.Port)) }

// List writes specs as --serve names them, "http:80, echo:7", or "none".
func List(specs []Spec) string {
	if len(specs) == 0 {
		return "none"
	}
	s := make([]string, len(specs))
	for i, spec := range specs {
		s[i] = spec.String()
	}
	return strings.Join(s, ", ")
}

// sourceChunk is what the source service writes at a time.
const sourceChunk = 64 << 10

// ServeSource sends bytes without end until the peer closes or resets:
// the stack→kernel direction of a bulk transfer (a chargen, RFC 864,
// without the line pattern).
func ServeSource(ln net.Listener) error {
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

// ServeOneShot reads one byte, sends it back and closes: the stack closes
// first, so the connection ends in TIME-WAIT on the stack's side. This is
// the connection of the bench's connection-rate and TIME-WAIT figures.
func ServeOneShot(ln net.Listener) error {
	return stack.Serve(ln, func(c net.Conn) {
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return
		}
		c.Write(b[:])
	})
}

// held counts what ServeHold holds, across its listeners.
var held atomic.Int64

// Held is how many connections ServeHold keeps open now, across its
// listeners, so that the bench can tell when the stack has accepted every
// connection.
func Held() int64 { return held.Load() }

// ServeHold accepts connections and keeps them open and idle, with no
// goroutine and no buffer of its own, until the listener closes: what an
// idle connection costs is then the stack's part alone.
func ServeHold(ln net.Listener) error {
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		held.Add(-int64(len(conns)))
	}()
	return stack.AcceptEach(ln, func(c net.Conn) {
		conns = append(conns, c)
		held.Add(1)
	})
}
