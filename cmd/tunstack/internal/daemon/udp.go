package daemon

import (
	"fmt"
	"net"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/services"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/gvisor"
)

// packetEngine is an Engine with UDP sockets: both engines are.
type packetEngine interface {
	ListenPacket(network, address string) (net.PacketConn, error)
}

var (
	_ packetEngine = (*stack.Stack)(nil)
	_ packetEngine = (*gvisor.Stack)(nil)
)

// startPacketService opens the UDP service's socket on its port on all of
// the stack's addresses and serves there until the socket closes. An
// engine without UDP (neither of today's) would skip it with a warning.
func (d *Daemon) startPacketService(svc services.Spec) error {
	pe, ok := d.stack.(packetEngine)
	if !ok {
		d.log.Warn("service not started: the engine has no UDP", "service", svc.String(), "engine", d.cfg.Engine)
		return nil
	}
	pc, err := pe.ListenPacket("udp", fmt.Sprintf(":%d", svc.Port))
	if err != nil {
		return fmt.Errorf("service %s: %w", svc, err)
	}
	serve := services.PacketHandler(svc.Name)
	d.services = append(d.services, pc)
	d.serving.Add(1)
	go func() {
		defer d.serving.Done()
		if err := serve(pc); err != nil {
			d.log.Error("service stopped", "service", svc.String(), "err", err)
		}
	}()
	return nil
}
