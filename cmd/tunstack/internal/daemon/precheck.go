package daemon

import (
	"errors"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
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
