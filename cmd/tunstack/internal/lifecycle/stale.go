package lifecycle

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/tunstack/tunstack/tundev"
)

// Removed is one thing Clean removed.
type Removed struct {
	What string // "namespace" or "control socket"
	Name string
	PID  int // the daemon that made it
}

func (r Removed) String() string {
	return fmt.Sprintf("%s %s (of tunstack up, PID %d, gone)", r.What, r.Name, r.PID)
}

// socketProbeWait bounds how long Clean waits for a control socket to
// answer before it takes it for dead.
const socketProbeWait = time.Second

// Clean removes what the daemons that are gone left behind, as their
// records say: the namespace each created, unless it is no longer the
// one it created or a live daemon uses it; the control socket, unless
// something answers on it; and the record. only, if not nil, picks the
// records to look at (the next `up` looks at its own device's). It goes
// on past an error and returns them all with what it removed.
func (rs Records) Clean(only func(Record) bool) ([]Removed, error) {
	entries, err := rs.list()
	if err != nil {
		return nil, err
	}
	inUse := map[string]bool{} // namespaces of live daemons
	for _, e := range entries {
		if e.err == nil && e.record.NetNS != "" && alive(e.record) {
			inUse[e.record.NetNS] = true
		}
	}
	var removed []Removed
	var errs []error
	for _, e := range entries {
		r := e.record
		if e.err != nil || (only != nil && !only(r)) || alive(r) {
			continue
		}
		if ok, err := removeStaleSocket(r.Control); err != nil {
			errs = append(errs, err)
		} else if ok {
			removed = append(removed, Removed{"control socket", r.Control, r.PID})
		}
		if r.NetNSCreated && r.NetNS != "" && !inUse[r.NetNS] {
			if ok, err := removeCreatedNetNS(r); err != nil {
				errs = append(errs, err)
			} else if ok {
				removed = append(removed, Removed{"namespace", r.NetNS, r.PID})
			}
		}
		if err := os.Remove(e.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// removeStaleSocket removes the socket at path if nothing answers on it.
// A file that is not a socket is not ours to remove.
func removeStaleSocket(path string) (bool, error) {
	if path == "" {
		return false, nil
	}
	info, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if info.Mode().Type() != os.ModeSocket {
		return false, nil
	}
	if conn, err := net.DialTimeout("unix", path, socketProbeWait); err == nil {
		conn.Close()
		return false, nil // another daemon took the path since
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("removing stale control socket: %w", err)
	}
	return true, nil
}

// removeCreatedNetNS removes the namespace r's daemon created if it is
// still that namespace.
func removeCreatedNetNS(r Record) (bool, error) {
	id, err := tundev.NetNSID(r.NetNS)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if id != r.NetNSID {
		return false, nil // someone made another of that name since
	}
	if err := tundev.DeleteNetNS(r.NetNS); err != nil {
		return false, err
	}
	return true, nil
}
