package fault

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// Errors of a Set.
var (
	ErrExists   = errors.New("a fault of that name exists")
	ErrNotFound = errors.New("no fault of that name")
)

// Set is the faults in force, changed by the control socket while the
// stack reads them. Its methods are safe for concurrent use; a nil Set
// has no faults.
type Set struct {
	mu     sync.Mutex
	faults []*Fault // in the order they were added
	rules  atomic.Pointer[Rules]
}

// Rules is one immutable view of a Set: the faults of each port. A fault
// that is changed is a new *Fault, so that connections decide again
// whether it applies to them.
type Rules struct {
	byPort map[uint16][]*Fault
}

// For returns the faults on port, in the order they were added.
func (r *Rules) For(port uint16) []*Fault { return r.byPort[port] }

// Rules returns the faults in force, nil when there are none: the
// stack's one check per segment.
func (s *Set) Rules() *Rules {
	if s == nil {
		return nil
	}
	return s.rules.Load()
}

// Add puts f in force. A fault of the same name is an error unless
// replace is set: then f takes its place (a change).
func (s *Set) Add(f Fault, replace bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.indexLocked(f.Name)
	switch {
	case i >= 0 && !replace:
		return fmt.Errorf("fault %s: %w", f.Name, ErrExists)
	case i >= 0:
		s.faults[i] = &f
	default:
		s.faults = append(s.faults, &f)
	}
	s.publishLocked()
	return nil
}

// Remove takes the named fault out of force.
func (s *Set) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.indexLocked(name)
	if i < 0 {
		return fmt.Errorf("fault %s: %w", name, ErrNotFound)
	}
	s.faults = slices.Delete(s.faults, i, i+1)
	s.publishLocked()
	return nil
}

// RemovePort takes every fault of port out of force (its forward went).
func (s *Set) RemovePort(port uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = slices.DeleteFunc(s.faults, func(f *Fault) bool { return f.Port == port })
	s.publishLocked()
}

// Clear takes every fault out of force.
func (s *Set) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.publishLocked()
}

// List returns the faults in force, in the order they were added.
func (s *Set) List() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]Fault, len(s.faults))
	for i, f := range s.faults {
		list[i] = *f
	}
	return list
}

func (s *Set) indexLocked(name string) int {
	return slices.IndexFunc(s.faults, func(f *Fault) bool { return f.Name == name })
}

func (s *Set) publishLocked() {
	if len(s.faults) == 0 {
		s.rules.Store(nil)
		return
	}
	r := &Rules{byPort: make(map[uint16][]*Fault)}
	for _, f := range s.faults {
		r.byPort[f.Port] = append(r.byPort[f.Port], f)
	}
	s.rules.Store(r)
}
