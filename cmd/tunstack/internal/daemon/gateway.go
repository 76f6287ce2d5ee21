package daemon

import (
	"fmt"
	"maps"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/forward"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/gateway"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/gvisor"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tundev"
)

// GatewayConfig is --gateway and its options.
type GatewayConfig struct {
	On bool
	gateway.Config
	// DefaultRoute adds a default route into the device in its
	// namespace (--gateway-default-route).
	DefaultRoute bool
}

// gatewayRelays are the gateway's TCP and UDP relays; nil without
// --gateway. Their sockets to the destinations are opened in the
// namespace the daemon was started in, not the device's.
type gatewayRelays struct {
	tcp  *forward.Forward
	udp  *gateway.UDP
	dial forward.Dialer // hostDialer's
}

// newGatewayUDP is the UDP relay the stack is made with, or nil.
func (d *Daemon) newGatewayUDP() *gateway.UDP {
	if !d.cfg.Gateway.On {
		return nil
	}
	d.gateway.dial = d.hostDialer()
	d.gateway.udp = gateway.NewUDP(d.cfg.Gateway.Config, d.gateway.dial, d.log)
	return d.gateway.udp
}

// hostDialer opens the relays' sockets. With the device in the daemon's
// own namespace (no --netns), a destination routed into the device would
// bring each relayed connect back to the gateway: the dialer checks each
// destination's route first (gateway.LoopGuard).
func (d *Daemon) hostDialer() forward.Dialer {
	index, here, err := d.dev.IndexHere()
	switch {
	case err != nil:
		d.log.Warn("gateway: cannot tell whether the device is in this namespace; relayed connects are not checked for loops", "err", err)
		return gateway.HostDialer
	case !here:
		return gateway.HostDialer
	}
	return gateway.LoopGuard(gateway.HostDialer, gateway.RoutedIntoLink(index), d.log)
}

// startGateway listens for TCP to every address not the stack's, with
// either engine, and adds the default route if asked.
func (d *Daemon) startGateway(st Engine) error {
	if !d.cfg.Gateway.On {
		return nil
	}
	var listen forward.Listen
	switch st := st.(type) {
	case *stack.Stack:
		listen = gateway.NativeTCP(st)
	case *gvisor.Stack:
		listen = gateway.GVisorTCP(st)
	default:
		return fmt.Errorf("gateway: engine %s has no gateway", d.cfg.Engine)
	}
	tcp, err := gateway.StartTCP(listen, d.cfg.Gateway.Config, d.gateway.dial, d.log)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	d.gateway.tcp = tcp
	if d.cfg.Gateway.DefaultRoute {
		if err := tundev.AddDefaultRoutes(d.cfg.NetNS, d.dev.Name(), d.cfg.Addr6.IsValid()); err != nil {
			return fmt.Errorf("--gateway-default-route: %w", err)
		}
	}
	d.log.Info("gateway", "to", gatewayTarget(d.cfg.Gateway.To), "udp_timeout", d.cfg.Gateway.UDPTimeout, "default_route", d.cfg.Gateway.DefaultRoute)
	return nil
}

// stopGateway stops taking connections and flows and ends the flows;
// waitGateway, once the stack has stopped, waits for the relays.
func (d *Daemon) stopGateway() {
	if d.gateway.tcp != nil {
		d.gateway.tcp.Close()
	}
	if d.gateway.udp != nil {
		d.gateway.udp.Close()
	}
}

func (d *Daemon) waitGateway() {
	if d.gateway.tcp != nil {
		d.gateway.tcp.Wait()
	}
	if d.gateway.udp != nil {
		d.gateway.udp.Wait()
	}
}

// GatewayStatus is the relays' counters for the status reply and the
// metrics; nil before the relays start.
func (d *Daemon) GatewayStatus() *control.GatewayStatus {
	if d.gateway.tcp == nil || d.gateway.udp == nil {
		return nil
	}
	t, u := d.gateway.tcp.Counters(), d.gateway.udp.Counters()
	return &control.GatewayStatus{
		TCP: control.GatewayTCPStatus{Active: t.Active, Relayed: t.Relayed,
			BytesToUpstream: t.BytesToUpstream, BytesToClient: t.BytesToClient, DialFailures: t.DialFailures},
		UDP: control.GatewayUDPStatus{Active: u.Active, Flows: u.Flows, FlowsRefused: u.FlowsRefused,
			DatagramsUp: u.DatagramsUp, DatagramsDown: u.DatagramsDown,
			BytesToUpstream: u.BytesToUpstream, BytesToClient: u.BytesToClient, DialFailures: u.DialFailures},
	}
}

func gatewayTarget(to string) string {
	if to == "" {
		return "each destination"
	}
	return to
}

// upstreams are the servers of the connections the forwards and the
// gateway relay, by the stack's connection, for `tunstack ss -e`.
func (d *Daemon) upstreams() map[tcp.ID]string {
	all := map[tcp.ID]string{}
	d.forwards.mu.Lock()
	for _, f := range d.forwards.running {
		maps.Copy(all, f.Upstreams())
	}
	d.forwards.mu.Unlock()
	if d.gateway.tcp != nil {
		maps.Copy(all, d.gateway.tcp.Upstreams())
	}
	return all
}
