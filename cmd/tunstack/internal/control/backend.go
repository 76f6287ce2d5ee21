package control

import (
	"context"
	"net"

	"github.com/tunstack/tunstack/stack"
)

// Stack is what a StackBackend serves from: the daemon's stack, of either
// engine.
type Stack interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	Subscribe(buffer int) (<-chan stack.Event, func())
	Connections() []stack.ConnInfo
	Counters() stack.Counters
}

// StackBackend serves the control socket from a stack.
type StackBackend struct {
	Stack
	// Held counts the connections the bench's hold service keeps open,
	// for memstats; nil when there is none.
	Held func() int64
	// Gateway is the gateway's counters (gateway.go); nil without
	// --gateway.
	Gateway func() *GatewayStatus
}

// Status is the stack's counters and connections.
func (b StackBackend) Status() Reply {
	infos := b.Connections()
	conns := make([]ConnStatus, len(infos))
	for i, info := range infos {
		conns[i] = NewConnStatus(info)
	}
	reply := Reply{Counters: NewCounterStatus(b.Counters()), Connections: conns, UDPSockets: udpSockets(b.Stack)}
	if b.Gateway != nil {
		reply.Gateway = b.Gateway()
	}
	return reply
}
