package control

import (
	"bufio"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func frame(kind byte, payload string) string {
	var h [frameHeader]byte
	h[0] = kind
	binary.BigEndian.PutUint32(h[1:], uint32(len(payload)))
	return string(h[:]) + payload
}

// TestReadFrames: what each way a framed session can end gives the client.
func TestReadFrames(t *testing.T) {
	for _, tt := range []struct {
		name, stream, out string
		check             func(error) bool
	}{
		{"FIN", frame('d', "ab") + frame('d', "c") + frame('f', ""), "abc", func(err error) bool { return err == nil }},
		{"ended", frame('d', "ab") + frame('x', "the daemon is shutting down"), "ab", func(err error) bool {
			var e *SessionEnded
			return errors.As(err, &e) && e.Reason == "the daemon is shutting down"
		}},
		{"closed without a word", frame('d', "ab"), "ab", func(err error) bool { return errors.Is(err, ErrDaemonClosed) }},
		{"closed inside a frame", frame('d', "abc")[:6], "", func(err error) bool { return errors.Is(err, ErrDaemonClosed) }},
		{"unknown frame", frame('z', ""), "", func(err error) bool { return errors.Is(err, ErrProtocol) }},
		{"huge frame", frame('d', "")[:1] + "\xff\xff\xff\xff", "", func(err error) bool { return errors.Is(err, ErrProtocol) }},
	} {
		var out strings.Builder
		err := readFrames(bufio.NewReader(strings.NewReader(tt.stream)), &out)
		if !tt.check(err) || !strings.HasPrefix(out.String(), tt.out) {
			t.Errorf("%s: readFrames = %q, %v", tt.name, out.String(), err)
		}
	}
}
