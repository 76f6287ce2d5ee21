package tundev

import "time"

// impairClock is the time an impaired link runs on: the real clock, or a
// fake one in tests so that a 20 ms delay is checked without waiting 20 ms.
type impairClock interface {
	Now() time.Time
	// NewTimer returns a stopped timer.
	NewTimer() impairTimer
}

// impairTimer is a one-shot timer that can be pointed at a new time.
type impairTimer interface {
	C() <-chan time.Time
	// ResetAt makes the timer fire once at t, at once if t has passed,
	// and forgets any earlier time it was set to.
	ResetAt(t time.Time)
	Stop()
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer() impairTimer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return realTimer{t}
}

// realTimer relies on the timers of Go 1.23 and later: Reset and Stop
// discard a value that fired but was not received, so a stale tick never
// wakes the waiter.
type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time  { return r.t.C }
func (r realTimer) ResetAt(at time.Time) { r.t.Reset(time.Until(at)) }
func (r realTimer) Stop()                { r.t.Stop() }
