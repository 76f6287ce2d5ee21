package stack

import (
	"sync"
	"time"
)

// deadline is one direction's read or write deadline of a Conn. Blocked
// calls select on expired(); it is closed once the deadline has passed and
// replaced when the deadline is moved again. Until a deadline is first
// set it is nil, which never fires: most connections never set one.
type deadline struct {
	mu      sync.Mutex
	timer   *time.Timer
	ch      chan struct{}
	fired   bool
	version uint64 // tells a stale timer callback from the current one
}

// set moves the deadline; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cancelLocked()
	if d.ch == nil || d.fired {
		d.ch = make(chan struct{})
		d.fired = false
	}
	if t.IsZero() {
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		d.expireLocked()
		return
	}
	version := d.version
	d.timer = time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.version == version {
			d.expireLocked()
		}
	})
}

func (d *deadline) expireLocked() {
	if !d.fired {
		d.fired = true
		close(d.ch)
	}
}

// expired returns a channel closed when the deadline passes.
func (d *deadline) expired() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}

// passed reports whether the deadline has passed.
func (d *deadline) passed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fired
}

// stop releases the timer when the connection closes.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cancelLocked()
}

// cancelLocked stops the pending timer; a callback already running sees
// the new version and does nothing.
func (d *deadline) cancelLocked() {
	d.version++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}
