package testkit

import (
	"testing"
	"time"
)

func TestPollSucceedsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	ok, last := Poll(time.Second, func() (bool, string) { calls++; return calls == 3, "not yet" })
	if !ok || last != "" || calls != 3 {
		t.Errorf("Poll = %v, %q after %d calls; want success on the 3rd call", ok, last, calls)
	}
}

func TestPollReportsTheLastState(t *testing.T) {
	n := 0
	start := time.Now()
	ok, last := Poll(50*time.Millisecond, func() (bool, string) { n++; return false, "state " + string(rune('0'+n%10)) })
	if ok || last == "" || last[:6] != "state " {
		t.Errorf("Poll of a condition that never holds = %v, %q; want false and its last state", ok, last)
	}
	if took := time.Since(start); took < 50*time.Millisecond || took > 5*time.Second {
		t.Errorf("Poll with a 50 ms timeout took %v", took)
	}
	if ok, last := Poll(0, func() (bool, string) { return false, "" }); ok || last != "(nothing)" {
		t.Errorf("Poll of a condition that describes nothing = %v, %q; want false, (nothing)", ok, last)
	}
}

func TestWaitForFailsWithWhatAndTheLastState(t *testing.T) {
	r := record(func(t testing.TB) {
		WaitFor(t, 10*time.Millisecond, "the moon", func() (bool, string) { return false, "no moon" })
	})
	if !r.fatal || !r.failedWith("waiting for the moon; last seen: no moon") {
		t.Errorf("WaitFor of a condition that never holds reported %q (fatal %v)", r.errors, r.fatal)
	}
	r = record(func(t testing.TB) {
		Eventually(t, "true", func() bool { return true })
	})
	if len(r.errors) != 0 {
		t.Errorf("Eventually of a condition that holds reported %q", r.errors)
	}
}
