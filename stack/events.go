package stack

import (
	"sync"
	"sync/atomic"
)

// fanout hands every event to every subscriber without ever blocking the
// loop: a subscriber whose buffer is full loses the event, and lost counts
// it. With no subscriber, active() is false and the loop builds no event.
type fanout struct {
	subscribers atomic.Int32
	lost        atomic.Uint64

	mu   sync.RWMutex
	subs map[*subscription]struct{}
}

type subscription struct {
	ch chan Event
}

// active reports whether anyone listens; the loop checks it before
// building an event.
func (f *fanout) active() bool { return f.subscribers.Load() > 0 }

func (f *fanout) subscribe(buffer int) (<-chan Event, func()) {
	s := &subscription{ch: make(chan Event, max(buffer, 0))}
	f.mu.Lock()
	if f.subs == nil {
		f.subs = make(map[*subscription]struct{})
	}
	f.subs[s] = struct{}{}
	f.subscribers.Add(1)
	f.mu.Unlock()
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs, s)
			f.subscribers.Add(-1)
			close(s.ch)
			f.mu.Unlock()
		})
	}
	return s.ch, cancel
}

func (f *fanout) publish(ev Event) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for s := range f.subs {
		select {
		case s.ch <- ev:
		default:
			f.lost.Add(1)
		}
	}
}
