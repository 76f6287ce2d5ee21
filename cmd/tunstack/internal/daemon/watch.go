package daemon

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/tunstack/tunstack/tundev"
)

// ErrControlRemoved means the daemon's control socket was removed or
// replaced under it: no command can reach the daemon any more, and
// another may take the path, so it stops.
var ErrControlRemoved = errors.New("control socket removed")

type controlRemovedError struct{ path string }

func (e controlRemovedError) Error() string {
	return fmt.Sprintf("control socket %s was removed", e.path)
}
func (e controlRemovedError) Is(target error) bool { return target == ErrControlRemoved }

// controlCheckEvery is how often the daemon looks at its control socket.
const controlCheckEvery = 500 * time.Millisecond

// watcher says when the daemon must stop on its own: its event loop
// ended (its device was removed, or it failed), or its control socket
// was removed.
type watcher struct {
	done    chan struct{} // closed with cause set
	cause   error
	unwatch chan struct{} // closed by Stop: stop watching
	once    sync.Once
	control os.FileInfo // the control socket as created
}

// startWatch begins to watch, once the control socket exists.
func (d *Daemon) startWatch() {
	d.watch.control, _ = os.Lstat(d.cfg.Control)
	go d.watchLoop()
}

func (d *Daemon) watchLoop() {
	tick := time.NewTicker(controlCheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-d.loopDone:
			cause := d.loopErr
			if cause == nil {
				cause = errors.New("the stack stopped unexpectedly")
			}
			d.watch.end(cause)
			return
		case <-tick.C:
			if !d.controlSocketIsOurs() {
				d.watch.end(controlRemovedError{d.cfg.Control})
				return
			}
		case <-d.watch.unwatch:
			return
		}
	}
}

func (w *watcher) end(cause error) {
	w.cause = cause
	close(w.done)
}

// Done is closed when the daemon must stop on its own; Cause says why.
func (d *Daemon) Done() <-chan struct{} { return d.watch.done }

// Cause is why Done was closed: an error matching tundev.ErrDeviceRemoved
// or ErrControlRemoved when the daemon lost its device or its control
// socket (Expected), or the error that stopped the event loop.
func (d *Daemon) Cause() error { return d.watch.cause }

// Expected reports whether a Cause is one that ends a daemon normally:
// someone removed its device or its control socket.
func Expected(cause error) bool {
	return errors.Is(cause, tundev.ErrDeviceRemoved) || errors.Is(cause, ErrControlRemoved)
}

// stopWatching ends the watch before Stop removes what is watched.
func (d *Daemon) stopWatching() {
	d.watch.once.Do(func() { close(d.watch.unwatch) })
}

// controlSocketIsOurs reports whether the control socket's path still
// holds the socket the daemon created.
func (d *Daemon) controlSocketIsOurs() bool {
	info, err := os.Lstat(d.cfg.Control)
	return err == nil && d.watch.control != nil && os.SameFile(info, d.watch.control)
}

// removeControlSocket removes the control socket if it is still the
// daemon's: a socket another daemon created at the path since stays.
func (d *Daemon) removeControlSocket() error {
	if d.watch.control != nil && !d.controlSocketIsOurs() {
		return nil
	}
	if err := os.Remove(d.cfg.Control); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
