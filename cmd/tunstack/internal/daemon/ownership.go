package daemon

import (
	"github.com/tunstack/tunstack/cmd/tunstack/internal/lifecycle"
	"github.com/tunstack/tunstack/tundev"
)

// records are where daemons record what they made (package lifecycle).
var records = lifecycle.Records{Dir: lifecycle.DefaultDir}

// removeStale removes what a daemon for the same device and namespace
// left behind when it died: the namespace it created (which this daemon
// would otherwise take for the user's and leave behind in turn) and its
// control socket.
func (d *Daemon) removeStale() {
	removed, err := records.Clean(func(r lifecycle.Record) bool {
		return r.Dev == d.cfg.Dev && r.NetNS == d.cfg.NetNS
	})
	for _, r := range removed {
		d.log.Info("removed what a daemon that died left behind", "what", r.What, "name", r.Name, "pid", r.PID)
	}
	if err != nil {
		d.log.Warn("removing what a daemon that died left behind", "err", err)
	}
}

// recordOwnership records, once the device is up, what this daemon made
// that its death would leave behind, so that the next `up` or `tunstack
// cleanup` can remove it. Failing to record costs only that: it is
// logged, and the daemon runs.
func (d *Daemon) recordOwnership() {
	pid, start, err := lifecycle.Self()
	r := lifecycle.Record{PID: pid, Start: start, Dev: d.cfg.Dev, NetNS: d.cfg.NetNS, Control: d.cfg.Control, NetNSCreated: d.dev.CreatedNetNS()}
	if err == nil && r.NetNSCreated {
		r.NetNSID, err = tundev.NetNSID(r.NetNS)
	}
	if err == nil {
		err = records.Write(r)
	}
	if err != nil {
		d.log.Warn("cannot record what the daemon made: if it dies, tunstack cleanup will not find it", "err", err)
		return
	}
	d.record = &r
}

// forgetOwnership removes the record once what it names is gone.
func (d *Daemon) forgetOwnership() {
	if d.record == nil {
		return
	}
	if err := records.Remove(*d.record); err != nil {
		d.log.Warn("removing the daemon's record", "err", err)
	}
}
