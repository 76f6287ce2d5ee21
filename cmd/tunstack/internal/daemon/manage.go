package daemon

import (
	"fmt"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/forward"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/fault"
)

// manager is the control socket's Manager: faults and forwards of the
// native engine, changed while the daemon runs.
type manager struct {
	d  *Daemon
	st *stack.Stack
}

var _ control.Manager = manager{}

func (m manager) AddFault(f fault.Fault, replace bool) error {
	if err := m.st.Faults().Add(f, replace); err != nil {
		return err
	}
	m.d.log.Info("fault in force", "fault", f.String())
	return nil
}

func (m manager) RemoveFault(name string) error {
	if err := m.st.Faults().Remove(name); err != nil {
		return err
	}
	m.d.log.Info("fault removed", "name", name)
	return nil
}

func (m manager) ClearFaults()          { m.st.Faults().Clear() }
func (m manager) Faults() []fault.Fault { return m.st.Faults().List() }

func (m manager) AddForward(text string) error {
	spec, err := forward.Parse(text)
	if err != nil {
		return err
	}
	if spec.Addr.IsValid() && !m.st.IsLocal(spec.Addr) {
		return fmt.Errorf("forward %q: %v is not one of the stack's addresses", text, spec.Addr)
	}
	return m.d.AddForward(spec)
}

func (m manager) RemoveForward(port uint16) error { return m.d.RemoveForward(port) }

func (m manager) Forwards() []control.ForwardStatus {
	var list []control.ForwardStatus
	for _, f := range m.d.Forwards() {
		list = append(list, control.ForwardStatus{Listen: f.Spec.ListenAddress(), Upstream: f.Spec.Upstream, Active: f.Active, Total: f.Total})
	}
	return list
}
