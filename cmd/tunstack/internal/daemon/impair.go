package daemon

import (
	"fmt"
	"log/slog"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/tundev"
)

// impairLink returns the link the stack runs on: dev itself, or dev
// wrapped in the impairment --impair asked for. It logs the impairment
// with its seed, so that a run can be repeated.
func (d *Daemon) impairLink(dev *tundev.Device) (stack.Link, error) {
	cfg := d.cfg.Impair
	if !cfg.Active() {
		return dev, nil
	}
	im, err := tundev.Impair(dev, cfg)
	if err != nil {
		return nil, usage.Wrap(fmt.Errorf("--impair: %w", err))
	}
	d.impaired = im
	d.log.Info("impairing the link", "rx", cfg.Receive.String(), "tx", cfg.Transmit.String(), "seed", im.Seed())
	return im, nil
}

// closeImpair logs what the impairment did and stops it; it closes the
// device too, whose Close then returns the same error to stop.
func (d *Daemon) closeImpair() {
	if d.impaired == nil {
		return
	}
	rx, tx := d.impaired.Counters()
	d.log.Info("impairment counters", "seed", d.impaired.Seed(),
		slog.Group("rx", impairCounterAttrs(rx)...), slog.Group("tx", impairCounterAttrs(tx)...))
	d.impaired.Close()
}

func impairCounterAttrs(c tundev.ImpairCounters) []any {
	return []any{
		"packets", c.Packets, "lost", c.Lost, "duplicated", c.Duplicated, "reordered", c.Reordered,
		"overflow", c.Overflow, "held", c.Held, "delivered", c.Delivered, "failed", c.Failed,
	}
}
