package tcp

import "testing"

func TestSeqWrapSafe(t *testing.T) {
	tests := []struct {
		a, b Seq
		less bool
	}{
		{1, 2, true},
		{2, 1, false},
		{0xffffffff, 0, true}, // wraps
		{0xfffffff0, 0x10, true},
		{0x10, 0xfffffff0, false},
		{5, 5, false},
	}
	for _, tt := range tests {
		if got := tt.a.LessThan(tt.b); got != tt.less {
			t.Errorf("%d.LessThan(%d) = %v", tt.a, tt.b, got)
		}
		if got := tt.b.GreaterThan(tt.a); got != tt.less {
			t.Errorf("%d.GreaterThan(%d) = %v", tt.b, tt.a, got)
		}
	}
	if !Seq(0xfffffffe).InWindow(0xfffffffd, 5) || Seq(3).InWindow(0xfffffffd, 5) || !Seq(1).InWindow(0xfffffffd, 5) {
		t.Error("InWindow across the wrap")
	}
	if Seq(0xffffffff).Add(2) != 1 || Seq(0xfffffffe).Size(3) != 5 {
		t.Error("Add/Size across the wrap")
	}
	if !Seq(10).InRange(10, 11) || Seq(11).InRange(10, 11) {
		t.Error("InRange bounds")
	}
	if Seq(0xffffffff).Max(1) != 1 || Seq(0xffffffff).Min(1) != 0xffffffff {
		t.Error("Max/Min across the wrap")
	}
}

func TestStateNames(t *testing.T) {
	want := []string{"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
		"FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"}
	for i, w := range want {
		if got := State(i).String(); got != w {
			t.Errorf("State(%d) = %q, want %q", i, got, w)
		}
	}
}

func TestEveryReasonIsDescribed(t *testing.T) {
	for r := ReasonNone + 1; r < numReasons; r++ {
		if r.Code() == "" || r.Rule() == "" || r.Text() == "" {
			t.Errorf("reason %d has no code, rule or text", r)
		}
	}
}

func TestFlagsString(t *testing.T) {
	if got := (FlagSYN | FlagACK).String(); got != "SYN|ACK" {
		t.Errorf("String %q", got)
	}
	for f, want := range map[Flags]string{FlagSYN: "SYN", FlagSYN | FlagACK: "SYN-ACK", FlagFIN | FlagACK: "FIN-ACK", FlagRST: "RST", FlagACK: "ACK"} {
		if got := f.Label(); got != want {
			t.Errorf("Label(%v) = %q, want %q", f, got, want)
		}
	}
}
