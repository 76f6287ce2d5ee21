package stack

import (
	"bytes"
	"io"
	"net/netip"
	"slices"
)

type appKind uint8

const (
	appEcho appKind = iota
	appSink
	appRequest
)

type fuzzListener struct {
	ln     *Listener
	kind   appKind
	accept bool
}

// fuzzApp is one application's connection.
type fuzzApp struct {
	c       *Conn
	kind    appKind
	pending []byte // read, not yet written back
	paused  bool   // stopped reading
	answer  bool   // appRequest: the response is queued
	eof     bool   // Read said EOF: close once pending is out
	done    bool   // closed by the application
}

// runApps accepts what the listeners have and lets every application
// read and write as far as it can without blocking. It reports whether
// any of them did something.
func (h *fuzzHost) runApps() bool {
	acted := false
	for _, l := range h.listeners {
		for l.accept && l.ln.acceptQueueLen() > 0 {
			c, err := l.ln.Accept()
			if err != nil {
				break
			}
			h.apps = append(h.apps, &fuzzApp{c: c.(*Conn), kind: l.kind})
			acted = true
		}
	}
	for _, a := range h.apps {
		if a.step() {
			acted = true
		}
	}
	h.apps = slices.DeleteFunc(h.apps, func(a *fuzzApp) bool { return a.done })
	return acted
}

// step is what the application does with its connection now, never
// blocking; it reports whether it did anything.
func (a *fuzzApp) step() bool {
	if a.done {
		return false
	}
	acted := false
	if len(a.pending) > 0 {
		if free, ok := a.c.writable(); ok {
			n, err := a.c.Write(a.pending[:min(free, len(a.pending))])
			a.pending = a.pending[n:]
			acted = true
			if err != nil {
				a.close()
				return true
			}
		}
	}
	if len(a.pending) == 0 && a.eof {
		a.close()
		return true
	}
	if a.kind == appSink || a.paused || len(a.pending) > 0 || a.eof {
		return acted
	}
	n, ok := a.c.readable()
	if !ok {
		return acted
	}
	buf := make([]byte, max(n, 1))
	n, err := a.c.Read(buf)
	switch {
	case err == io.EOF:
		a.eof = true
	case err != nil:
		a.close()
	case a.kind == appEcho:
		a.pending = buf[:n]
	case a.kind == appRequest && !a.answer:
		a.answer, a.eof = true, true // answer, then close first
		a.pending = bytes.Repeat([]byte("response "), 300)
	}
	return true
}

func (a *fuzzApp) close() {
	a.done = true
	a.c.Close()
}

// readable says how much Read returns at once, and whether it returns
// at all without blocking.
func (c *Conn) readable() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.recv.Len()
	return n, n > 0 || c.closed || c.readClosed || c.err != nil || c.peerClosed || c.finished
}

// writable says how much Write takes at once, and whether it returns at
// all without blocking.
func (c *Conn) writable() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	free := c.send.Free(c.s.mem)
	return free, free > 0 || c.writeErrLocked() != nil
}

// appFor is the application of a flow's connection, if it has one.
func (h *fuzzHost) appFor(f *fuzzFlow) *fuzzApp {
	for _, a := range h.apps {
		if a.c.ID() == f.id {
			return a
		}
	}
	return nil
}

// dial opens a connection from the stack to a peer's port, as Dial does.
func (h *fuzzHost) dial(remote netip.AddrPort) {
	var c *Conn
	h.turn(func() { c, _ = h.s.openActive(remote) })
	if c != nil {
		h.apps = append(h.apps, &fuzzApp{c: c, kind: appEcho})
	}
	h.afterStep("a dial")
}
