package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/forward"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/tundev"
)

// forwards are the daemon's running forwards (--forward, `tunstack
// forward add`), by the stack's port.
type forwards struct {
	mu      sync.Mutex
	running map[uint16]*forward.Forward
	stopped bool
}

// ErrNoForward: no forward listens on that port.
var ErrNoForward = errors.New("no forward on that port")

// ForwardInfo is a running forward, for `tunstack forward list`.
type ForwardInfo struct {
	Spec          forward.Spec
	Active, Total int
}

// namespaceDialer dials with the kernel's sockets in the device's
// namespace, where the kernel's side of the device is.
func namespaceDialer(netns string) forward.Dialer {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		var conn net.Conn
		err := tundev.InNetNS(netns, func() (err error) {
			var d net.Dialer
			conn, err = d.DialContext(ctx, network, address)
			return err
		})
		return conn, err
	}
}

// AddForward starts relaying spec's port to its server. A port that a
// service or another forward listens on is refused.
func (d *Daemon) AddForward(spec forward.Spec) error {
	native, ok := d.stack.(*stack.Stack)
	if !ok {
		return fmt.Errorf("forward %s: needs --engine %s", spec, EngineNative)
	}
	d.forwards.mu.Lock()
	defer d.forwards.mu.Unlock()
	if d.forwards.stopped {
		return fmt.Errorf("forward %s: %w", spec, stack.ErrStopped)
	}
	f, err := forward.Start(native, spec, namespaceDialer(d.cfg.NetNS), d.log)
	if err != nil {
		return err
	}
	if d.forwards.running == nil {
		d.forwards.running = make(map[uint16]*forward.Forward)
	}
	if old := d.forwards.running[spec.Port]; old != nil {
		// Another address on the same port: keep both under one key is
		// not possible; refuse it instead.
		f.Close()
		return fmt.Errorf("forward %s: port %d already forwards to %s", spec, spec.Port, old.Spec().Upstream)
	}
	d.forwards.running[spec.Port] = f
	d.log.Info("forwarding", "listen", spec.ListenAddress(), "upstream", spec.Upstream)
	return nil
}

// RemoveForward stops the forward on port; its connections being relayed
// go on until they end.
func (d *Daemon) RemoveForward(port uint16) error {
	d.forwards.mu.Lock()
	f := d.forwards.running[port]
	delete(d.forwards.running, port)
	d.forwards.mu.Unlock()
	if f == nil {
		return fmt.Errorf("port %d: %w", port, ErrNoForward)
	}
	f.Close()
	return nil
}

// Forwards lists the running forwards by port.
func (d *Daemon) Forwards() []ForwardInfo {
	d.forwards.mu.Lock()
	defer d.forwards.mu.Unlock()
	var infos []ForwardInfo
	for _, f := range d.forwards.running {
		active, total := f.Stats()
		infos = append(infos, ForwardInfo{Spec: f.Spec(), Active: active, Total: total})
	}
	slices.SortFunc(infos, func(a, b ForwardInfo) int { return int(a.Spec.Port) - int(b.Spec.Port) })
	return infos
}

// stopForwards stops accepting on every forward; waitForwards, once the
// stack has stopped, waits for their relays.
func (d *Daemon) stopForwards() []*forward.Forward {
	d.forwards.mu.Lock()
	defer d.forwards.mu.Unlock()
	d.forwards.stopped = true
	var all []*forward.Forward
	for port, f := range d.forwards.running {
		f.Close()
		all = append(all, f)
		delete(d.forwards.running, port)
	}
	return all
}
