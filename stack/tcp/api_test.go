package tcp

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
)

func TestErrorsMatchErrnoAndNetError(t *testing.T) {
	var ne net.Error = ErrTimedOut
	if !ne.Timeout() || ErrConnectionReset.Timeout() {
		t.Fatal("Timeout() wrong")
	}
	for _, tt := range []struct {
		err   error
		errno syscall.Errno
		text  string
	}{
		{ErrConnectionRefused, syscall.ECONNREFUSED, "connection refused"},
		{ErrConnectionReset, syscall.ECONNRESET, "connection reset by peer"},
		{ErrTimedOut, syscall.ETIMEDOUT, "connection timed out"},
		{ErrClosing, syscall.EPIPE, "connection closing"},
		{ErrHostUnreachable, syscall.EHOSTUNREACH, "no route to host"},
	} {
		if !errors.Is(tt.err, tt.errno) || tt.err.Error() != tt.text {
			t.Errorf("%v: errno %v, text %q", tt.err, tt.errno, tt.text)
		}
		if errors.Is(tt.err, syscall.EINVAL) {
			t.Errorf("%v matches an unrelated errno", tt.err)
		}
	}
}

func TestSendInEveryState(t *testing.T) {
	for _, tt := range []struct {
		setup func(*testing.T) *harness
		want  error
	}{
		{func(t *testing.T) *harness { return newHarness(t, nil) }, ErrNotConnected},
		{listening, ErrNotConnected},
		{synSent, nil},
		{synReceived, nil},
		{established, nil},
		{closeWait, nil},
		{finWait1, ErrClosing},
		{finWait2, ErrClosing},
		{closing, ErrClosing},
		{lastAck, ErrClosing},
		{timeWait, ErrClosing},
	} {
		h := tt.setup(t)
		state := h.c.State()
		_, err := h.c.Send(h.now, []byte("x"))
		if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
			t.Errorf("Send in %s: %v, want %v", state, err, tt.want)
		}
		if space := h.c.SendSpace(); (tt.want == nil) != (space > 0) {
			t.Errorf("SendSpace in %s: %d", state, space)
		}
	}
}

func TestSendAfterResetReturnsTheReset(t *testing.T) {
	h := established(t)
	h.send(seg(FlagRST, remoteISS+1, 0))
	if _, err := h.c.Send(h.now, []byte("x")); !errors.Is(err, ErrConnectionReset) {
		t.Fatalf("Send after RST: %v", err)
	}
	if err := h.c.CloseSend(h.now); !errors.Is(err, ErrConnectionReset) {
		t.Fatalf("CLOSE after RST: %v", err)
	}
}

func TestAccessors(t *testing.T) {
	h := closeWait(t)
	h.c.SetUserData("owner")
	if h.c.UserData() != "owner" || !h.c.Passive() || !h.c.PeerClosed() || h.c.ID().Local != localAP {
		t.Fatal("accessors")
	}
	if cc, ok := ParseCongestionControl("newreno"); !ok || cc != NewReno || cc.String() != "newreno" {
		t.Fatal("ParseCongestionControl newreno")
	}
	if cc, ok := ParseCongestionControl("cubic"); !ok || cc != CUBIC || cc.String() != "cubic" {
		t.Fatal("ParseCongestionControl cubic")
	}
	if _, ok := ParseCongestionControl("bbr"); ok {
		t.Fatal("unknown algorithm accepted")
	}
	s := out(FlagSYN|FlagACK, 1, 2, "hi")
	if got := s.String(); !strings.HasPrefix(got, "SYN-ACK seq=1 ack=2") || !strings.HasSuffix(got, "len=2") {
		t.Fatalf("String %q", got)
	}
	if Reason(9999).Code() != "unknown" || State(99).String() != "UNKNOWN" || ReasonData.String() != "data" {
		t.Fatal("out-of-range names")
	}
}
