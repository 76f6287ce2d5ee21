package ladder

import (
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
)

func TestRuleName(t *testing.T) {
	for _, tc := range []struct{ rule, want string }{
		{"rfc9293:3.10.7.4/rst-in-window", "RFC 9293 §3.10.7.4"},
		{"rfc9293:3.10.7.2", "RFC 9293 §3.10.7.2"},
		{"rfc5961:5.2", "RFC 5961 §5.2"},
		{"rfc1337", "RFC 1337"},
		{"", ""},
		{"draft-ietf-tcpm-foo", "draft-ietf-tcpm-foo"},
		{"rfcx:1", "rfcx:1"},
	} {
		if got := RuleName(tc.rule); got != tc.want {
			t.Errorf("RuleName(%q) = %q, want %q", tc.rule, got, tc.want)
		}
	}
}

func TestCite(t *testing.T) {
	if got, want := Cite(tcp.ReasonRSTInWindowChallenge), "RFC 9293 §3.10.7.4: RST in window but not exact: challenge ACK, RFC 5961 §3.2"; got != want {
		t.Errorf("Cite(rst-in-window) = %q, want %q", got, want)
	}
	if got := Cite(tcp.ReasonNone); got != "" {
		t.Errorf("Cite(none) = %q, want empty", got)
	}
}
