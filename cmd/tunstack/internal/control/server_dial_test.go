package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
)

func TestDialErrorText(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{tcp.ErrConnectionRefused, "connection refused"},
		{fmt.Errorf("dial: %w", tcp.ErrTimedOut), "connection timed out"},
		{context.DeadlineExceeded, "connection timed out"},
		{&net.OpError{Op: "dial", Err: tcp.ErrConnectionReset}, "connection reset by peer"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("no local address")}, "no local address"},
		{errors.New("odd"), "odd"},
	} {
		if got := dialErrorText(tt.err); got != tt.want {
			t.Errorf("dialErrorText(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
