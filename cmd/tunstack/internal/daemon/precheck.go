package daemon

import (
	"errors"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/tundev"
)

// checkBeforeDevice checks what can be checked before the device is
// created, so that a command line that cannot work fails before it
// changes the machine: the control socket's path (--pcap's file is
// created before the device too).
func checkBeforeDevice(cfg Config) error {
	if _, err := control.CheckPath(cfg.Control); err != nil {
		return controlError(err)
	}
	return nil
}

// controlError is the line a user sees when the control socket cannot be
// created, a usage error when another --control would do.
func controlError(err error) error {
	if errors.Is(err, control.ErrDaemonRunning) || errors.Is(err, control.ErrNotSocket) {
		return usage.Errorf("%w: pick another --control", err)
	}
	return err
}

// routeConflictError names the flag whose prefix overlaps a route of the
// namespace, and the route.
func routeConflictError(cfg Config, e *tundev.RouteConflictError) error {
	flag, ipFlag := "--addr", "--ip"
	if e.Prefix.Addr().Is6() {
		flag, ipFlag = "--addr6", "--ip6"
	}
	where := "this namespace"
	if cfg.NetNS != "" {
		where = "namespace " + cfg.NetNS
	}
	return usage.Errorf("%s %v overlaps the route %s already in %s: pick another %s and %s, or remove that route",
		flag, e.Prefix, e.Route, where, flag, ipFlag)
}
