package gateway

import (
	"container/list"
	"time"
)

// Eviction: with MaxUDPFlows relayed, a new flow takes the place of the
// one idle the longest among the evictScan at the front of the table, if
// it has been idle evictIdle. A NAT may end mappings early when it runs
// out of them; 30 s is how long Linux keeps an unreplied UDP mapping
// (nf_conntrack_udp_timeout), and a DNS query's flow is idle after its
// answer. Each flow scanned and kept goes to the back (a second chance),
// so that long-lived busy flows at the front do not shield the idle ones
// behind them, and a full table costs a new flow evictScan looks, not a
// pass over the table, on the stack's loop.
const (
	evictScan = 8
	evictIdle = 30 * time.Second
)

// flowTable holds the flows relayed now; UDP.mu guards it.
type flowTable struct{ order list.List }

func (t *flowTable) len() int { return t.order.Len() }

func (t *flowTable) add(f *flow) { f.place = t.order.PushBack(f) }

// remove takes f out of the table, if it is still in.
func (t *flowTable) remove(f *flow) {
	if f.place != nil {
		t.order.Remove(f.place)
		f.place = nil
	}
}

func (t *flowTable) all() []*flow {
	all := make([]*flow, 0, t.order.Len())
	for e := t.order.Front(); e != nil; e = e.Next() {
		all = append(all, e.Value.(*flow))
	}
	return all
}

// idlest is the flow to evict for a new one at now, or nil if none of
// those scanned has been idle evictIdle.
func (t *flowTable) idlest(now time.Time) *flow {
	var victim *flow
	var since int64
	for range min(evictScan, t.order.Len()) {
		e := t.order.Front()
		f := e.Value.(*flow)
		if last := f.last.Load(); victim == nil || last < since {
			victim, since = f, last
		}
		t.order.MoveToBack(e)
	}
	if victim == nil || now.Sub(time.Unix(0, since)) < evictIdle {
		return nil
	}
	return victim
}
