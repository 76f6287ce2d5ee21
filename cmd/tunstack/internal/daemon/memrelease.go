package daemon

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The daemon keeps its resident set near what the buffer budget allows
// and gives memory back when connections go (issue 9: 2,000 clients that
// never read made it hold 1.45 GB, still held 5 s after they closed).
//
// The stack bounds its buffers, but Go's collector lets the heap grow to
// twice what was live at the last collection before it runs again: with
// 160 MiB of buffers and connections live, up to 300 MiB. So once a
// second the daemon sets the runtime's soft memory limit to the budget,
// plus what the rest of the daemon was last measured to use, plus
// memorySlack: the collector then runs as the heap nears what the budget
// permits rather than twice that. The limit never falls below what is
// live plus the slack, so that it cannot make the collector run without
// end (95,000 idle connections hold 500 MB outside any buffer). It is
// left alone when the user set GOMEMLIMIT, and when the budget is off.
//
// And the stack returns the buffers of closed connections to its pools at
// once, but the runtime frees pooled storage only at the second
// collection after, and returns freed pages to the system gradually; an
// idle daemon allocates nothing and may not collect for two minutes. So
// when the buffers in use have fallen by releaseStep or more since their
// last high, or by releaseMin and then stopped falling (the closing is
// over), the daemon collects twice (the pools keep storage over one
// collection) and returns what is free (debug.FreeOSMemory): two
// collections when many connections have closed, nothing while they do
// not. The relays of the forwards and the gateway hold buffers of their
// own outside the budget (two of 64 KiB per connection or UDP flow: 1,024
// flows are 128 MiB); their fall counts as the buffers' does, or a
// daemon that relayed a burst would hold it in its resident set until the
// runtime's scavenger returned it, at its own pace (15 s for 220 MiB).
const (
	releaseStep     = 16 << 20
	releaseMin      = 1 << 20
	releaseInterval = time.Second
	memorySlack     = 16 << 20
)

// memoryWatch is what the releaser reads: the buffers in use and the
// budget (0: no bound), and what relays hold outside the budget (nil:
// nothing).
type memoryWatch struct {
	inUse   func() int64
	budget  int64
	outside func() int64
}

// held is what the release trigger watches fall: the buffers in use and
// what relays hold outside the budget.
func (w memoryWatch) held(inUse int64) int64 {
	if w.outside == nil {
		return inUse
	}
	return inUse + w.outside()
}

// relayBuffers is what the relays of the forwards and the gateway hold in
// their buffers now, outside the stack's budget.
func (d *Daemon) relayBuffers() int64 {
	var n int64
	d.forwards.mu.Lock()
	for _, f := range d.forwards.running {
		n += f.BufferBytes()
	}
	d.forwards.mu.Unlock()
	if d.gateway.tcp != nil {
		n += d.gateway.tcp.BufferBytes()
	}
	if d.gateway.udp != nil {
		n += d.gateway.udp.BufferBytes()
	}
	return n
}

// startMemoryReleaser runs the watch until stop is called.
func startMemoryReleaser(w memoryWatch, log *slog.Logger) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	limit := w.budget > 0 && os.Getenv("GOMEMLIMIT") == ""
	go func() {
		defer close(stopped)
		tick := time.NewTicker(releaseInterval)
		defer tick.Stop()
		r := newReleaseTrigger(w.held(w.inUse()))
		var rt runtimeMemory
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			now := w.inUse()
			if limit {
				debug.SetMemoryLimit(rt.target(w.budget, now))
			}
			if high, release := r.observe(w.held(now)); release {
				start := time.Now()
				runtime.GC() // the pools' storage goes to their victim caches
				debug.FreeOSMemory()
				log.Debug("memory returned to the system", "buffers_before", high, "buffers_now", now, "took", time.Since(start))
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// releaseTrigger decides when the buffers in use have fallen enough to
// return memory: by releaseStep since their high, or by releaseMin and
// then no more in the last interval.
type releaseTrigger struct {
	high, prev int64
}

func newReleaseTrigger(now int64) releaseTrigger { return releaseTrigger{high: now, prev: now} }

// observe takes the buffers in use now; it reports whether to release,
// and the high they fell from.
func (r *releaseTrigger) observe(now int64) (high int64, release bool) {
	settled := now == r.prev
	r.prev = now
	high = r.high
	if now > r.high {
		r.high = now
		return high, false
	}
	if fell := r.high - now; fell >= releaseStep || fell >= releaseMin && settled {
		r.high = now
		return high, true
	}
	return high, false
}

// runtimeMemory reads the runtime's memory classes.
type runtimeMemory struct {
	samples []metrics.Sample
}

var runtimeMemoryMetrics = []string{
	"/gc/heap/live:bytes",         // heap objects live at the last collection
	"/memory/classes/total:bytes", // everything the runtime mapped
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
}

// target is the soft memory limit for a budget with buffers in use: the
// budget (or the buffers, over it by their floors), the heap that is not
// buffers, what the runtime holds outside the heap (stacks, metadata),
// and memorySlack; never less than what is live and outside the heap
// plus memorySlack.
func (r *runtimeMemory) target(budget, buffers int64) int64 {
	if r.samples == nil {
		for _, name := range runtimeMemoryMetrics {
			r.samples = append(r.samples, metrics.Sample{Name: name})
		}
	}
	metrics.Read(r.samples)
	v := func(i int) int64 { return int64(r.samples[i].Value.Uint64()) }
	live := v(0)
	outsideHeap := v(1) - v(2) - v(3) - v(4) - v(5)
	other := max(live-buffers, 0)
	return max(max(budget, buffers)+other, live) + outsideHeap + memorySlack
}
