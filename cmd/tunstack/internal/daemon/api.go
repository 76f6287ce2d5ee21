package daemon

import (
	"fmt"
	"net"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/toxiapi"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/fault"
	"github.com/tunstack/tunstack/tundev"
)

// apiBackend is what Toxiproxy's API changes: the daemon's forwards and
// the stack's faults.
type apiBackend struct {
	*Daemon
	st *stack.Stack
}

func (b apiBackend) Faults() *fault.Set { return b.st.Faults() }

// startAPI serves --api inside the device's namespace, if asked for.
func (d *Daemon) startAPI() error {
	if d.cfg.API == "" {
		return nil
	}
	native, ok := d.stack.(*stack.Stack)
	if !ok {
		return fmt.Errorf("--api needs --engine %s", EngineNative)
	}
	var ln net.Listener
	err := tundev.InNetNS(d.cfg.NetNS, func() (err error) {
		ln, err = net.Listen("tcp", d.cfg.API)
		return err
	})
	if err != nil {
		return fmt.Errorf("--api %s: %w", d.cfg.API, err)
	}
	d.api = toxiapi.Serve(ln, toxiapi.New(apiBackend{Daemon: d, st: native}, d.log))
	d.log.Info("serving the Toxiproxy API", "url", "http://"+d.cfg.API)
	return nil
}

func (d *Daemon) stopAPI() {
	if d.api != nil {
		d.api.Close()
	}
}
