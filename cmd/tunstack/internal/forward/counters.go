package forward

import (
	"context"
	"errors"
	"maps"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/tunstack/tunstack/stack/tcp"
	"golang.org/x/sys/unix"
)

// counters are a relay's bytes and failed connects, since it started.
type counters struct {
	toUpstream, toClient atomic.Uint64

	mu           sync.Mutex
	dialFailures map[string]uint64 // by errno name: "ECONNREFUSED", "ETIMEDOUT"
}

// Counters are a relay's connections, bytes and failed connects.
type Counters struct {
	Active, Relayed int
	// BytesToUpstream are the client's bytes written to the server,
	// BytesToClient the server's written to the client.
	BytesToUpstream, BytesToClient uint64
	// DialFailures counts the connects to servers that failed, by the
	// errno's name ("ECONNREFUSED", "EHOSTUNREACH"), "ETIMEDOUT" for a
	// connect that had no answer within DialTimeout, "other" for the
	// rest (a name that did not resolve).
	DialFailures map[string]uint64
}

func (c *counters) dialFailed(err error) {
	name := "other"
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		if n := unix.ErrnoName(errno); n != "" {
			name = n
		}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		name = "ETIMEDOUT"
	case errors.Is(err, context.Canceled):
		return // the relay is closing
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dialFailures == nil {
		c.dialFailures = make(map[string]uint64)
	}
	c.dialFailures[name]++
}

// Counters are f's counters now.
func (f *Forward) Counters() Counters {
	active, total := f.Stats()
	f.counters.mu.Lock()
	failures := maps.Clone(f.counters.dialFailures)
	f.counters.mu.Unlock()
	return Counters{
		Active: active, Relayed: total,
		BytesToUpstream: f.counters.toUpstream.Load(),
		BytesToClient:   f.counters.toClient.Load(),
		DialFailures:    failures,
	}
}

// Upstreams are the servers of the connections being relayed, by the
// client connection's ID, as the kernel's socket names them (`tunstack ss
// -e`: upstream).
func (f *Forward) Upstreams() map[tcp.ID]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[tcp.ID]string, len(f.relays))
	for r := range f.relays {
		m[r.client.ID()] = r.backend.RemoteAddr().String()
	}
	return m
}

// BufferBytes is what f's relays hold in their buffers now, two of
// bufferSize each: memory outside the stack's buffer budget, which the
// daemon gives back to the system once it falls (daemon/memrelease.go).
func (f *Forward) BufferBytes() int64 {
	active, _ := f.Stats()
	return int64(active) * 2 * bufferSize
}
