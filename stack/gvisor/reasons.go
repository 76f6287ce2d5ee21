package gvisor

import "sync"

// reasons counts the gateway's drops and RSTs by reason, as the native
// stack counts its own (Counters: Drops, RSTsByReason).
type reasons struct {
	mu    sync.Mutex
	drops map[string]uint64
	rsts  map[string]uint64
}

func (r *reasons) drop(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.drops == nil {
		r.drops = make(map[string]uint64)
	}
	r.drops[reason]++
}

// refuse counts a SYN answered with a RST: a drop and a RST, as the
// native stack counts a refused admission.
func (r *reasons) refuse(reason string) {
	r.drop(reason)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rsts == nil {
		r.rsts = make(map[string]uint64)
	}
	r.rsts[reason]++
}

// snapshot copies the counts into drops and returns the RSTs by reason.
func (r *reasons) snapshot(drops map[string]uint64) map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range r.drops {
		drops[k] += v
	}
	rsts := make(map[string]uint64, len(r.rsts))
	for k, v := range r.rsts {
		rsts[k] = v
	}
	return rsts
}
