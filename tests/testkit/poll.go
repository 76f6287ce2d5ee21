package testkit

import (
	"testing"
	"time"
)

// DefaultTimeout is how long Eventually waits: long enough for a loaded
// 2-core machine, short enough that a hung test fails in seconds.
const DefaultTimeout = 10 * time.Second

// Poll intervals: the first check is at once, the next after
// firstPollInterval, and the interval doubles up to maxPollInterval. A
// condition that holds within a millisecond costs a millisecond; one that
// runs a command (ss, a control socket request) is not run more than 50
// times a second.
const (
	firstPollInterval = time.Millisecond
	maxPollInterval   = 20 * time.Millisecond
)

// Poll calls cond until it reports done or timeout has passed. It returns
// true if cond succeeded in time, and otherwise false with the state cond
// described on its last call ("(nothing)" if it described none).
func Poll(timeout time.Duration, cond func() (done bool, state string)) (ok bool, last string) {
	deadline := time.Now().Add(timeout)
	interval := firstPollInterval
	for {
		done, state := cond()
		if done {
			return true, ""
		}
		if !time.Now().Before(deadline) {
			if state == "" {
				state = "(nothing)"
			}
			return false, state
		}
		time.Sleep(min(interval, time.Until(deadline)))
		interval = min(2*interval, maxPollInterval)
	}
}

// WaitFor polls cond until it reports done, and fails the test if timeout
// passes first, with what it waited for and the last state cond described.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() (done bool, state string)) {
	t.Helper()
	if ok, last := Poll(timeout, cond); !ok {
		t.Fatalf("timed out after %v waiting for %s; last seen: %s", timeout, what, last)
	}
}

// Eventually polls cond until it holds, and fails the test if
// DefaultTimeout passes first.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	WaitFor(t, DefaultTimeout, what, func() (bool, string) { return cond(), "" })
}
