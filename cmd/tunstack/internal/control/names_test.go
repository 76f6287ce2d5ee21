package control

import (
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
)

// TestStateNamesRoundTrip: every state the engine names reads back, and
// nothing else does.
func TestStateNamesRoundTrip(t *testing.T) {
	all := append([]tcp.State{tcp.Closed}, ConnectionStates...)
	for st := tcp.State(0); st.String() != "UNKNOWN"; st++ {
		got, ok := ParseState(st.String())
		if !ok || got != st {
			t.Errorf("ParseState(%q) = %v, %v; want %v", st.String(), got, ok, st)
		}
		if int(st) >= len(all) || all[st] != st {
			t.Errorf("state %v is missing from ConnectionStates", st)
		}
	}
	for _, name := range []string{"", "established", "SYN-RCVD", "UNKNOWN"} {
		if st, ok := ParseState(name); ok {
			t.Errorf("ParseState(%q) = %v, want not ok", name, st)
		}
	}
	if got := StateCounts(map[tcp.State]int{tcp.TimeWait: 2, tcp.Listen: 1}); len(got) != 2 || got["TIME-WAIT"] != 2 || got["LISTEN"] != 1 {
		t.Errorf("StateCounts = %v", got)
	}
}

// TestReasonCodesRoundTrip: every reason reads back from its code.
func TestReasonCodesRoundTrip(t *testing.T) {
	n := 0
	for r := tcp.ReasonNone + 1; r.Code() != "unknown"; r++ {
		got, ok := ParseReason(r.Code())
		if !ok || got != r {
			t.Errorf("ParseReason(%q) = %v, %v; want %v", r.Code(), got, ok, r)
		}
		n++
	}
	if n < 50 {
		t.Errorf("only %d reasons read back: the walk over the codes stopped early", n)
	}
	if r, ok := ParseReason("no-such-reason"); ok || r != tcp.ReasonNone {
		t.Errorf("ParseReason of an unknown code = %v, %v", r, ok)
	}
}
