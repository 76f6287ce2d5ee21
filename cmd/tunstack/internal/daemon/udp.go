package daemon

import (
	"fmt"
	"net"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/services"
)

// packetEngine is an Engine with UDP sockets: tunstack's own. The gVisor
// adapter has none, so it serves no UDP service.
type packetEngine interface {
	ListenPacket(network, address string) (net.PacketConn, error)
}

// startPacketService opens the UDP service's socket on its port on all of
// the stack's addresses and serves there until the socket closes. An
// engine without UDP skips it with a warning, so that the default --serve
// works with --engine gvisor too.
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
