package tests

import (
	"testing"
	"time"
)

// pollInterval is how often waitFor checks its condition.
const pollInterval = 20 * time.Millisecond

// waitFor polls cond until it reports done or timeout passes; then it fails
// the test with what, and the last state cond described. It is how these
// tests wait for something: never a fixed sleep.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (done bool, state string)) {
	t.Helper()
	if err := poll(timeout, cond); err != "" {
		t.Fatalf("timed out after %v waiting for %s; last seen: %s", timeout, what, err)
	}
}

// poll is waitFor without a test: it returns "" when cond succeeded in time
// and the last state otherwise.
func poll(timeout time.Duration, cond func() (done bool, state string)) string {
	deadline := time.Now().Add(timeout)
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		done, state := cond()
		if done {
			return ""
		}
		if time.Now().After(deadline) {
			if state == "" {
				state = "(nothing)"
			}
			return state
		}
		<-ticker.C
	}
}
