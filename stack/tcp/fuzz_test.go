package tcp

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzInput feeds arbitrary segments, user calls and time steps to a
// connection in every state reachable from a handshake, and checks that
// the engine never panics and keeps its sequence invariants.
func FuzzInput(f *testing.F) {
	f.Add([]byte{0x12, 0, 0, 0, 1, 0, 0, 0, 1, 3, 'a', 'b', 'c'})
	f.Add([]byte{0x04, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0})
	f.Add([]byte{0x11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0x80, 0x81, 0x82})
	f.Fuzz(func(t *testing.T, script []byte) {
		h := established(t)
		h.c.Send(h.now, []byte("queued data"))
		for len(script) >= 10 {
			op := script[0]
			seq := remoteISS + Seq(binary.BigEndian.Uint32(script[1:5]))
			ack := localISS + Seq(binary.BigEndian.Uint32(script[5:9]))
			n := int(script[9]) % 8
			script = script[10:]
			if n > len(script) {
				n = len(script)
			}
			payload := script[:n]
			script = script[n:]
			switch op >> 6 {
			case 0, 1:
				s := seg(Flags(op&0x3f), seq, ack)
				s.Payload = payload
				s.Window = uint16(op) << 8
				h.c.Input(h.now, &s)
			case 2:
				switch op & 7 {
				case 0:
					h.c.CloseSend(h.now)
				case 1:
					h.c.Close(h.now)
				case 2:
					h.c.Send(h.now, payload)
				case 3:
					h.c.Receive(h.now, make([]byte, 5))
				case 4:
					h.c.Abort(h.now)
				}
			case 3:
				h.advance(time.Duration(op&0x3f) * 100 * time.Millisecond)
			}
			c := h.c
			if c.state.Synchronized() && (c.SndNxt.GreaterThan(c.sndMax) || c.SndUna.GreaterThan(c.SndNxt)) {
				t.Fatalf("invariant broken: SND.UNA %d SND.NXT %d max %d", c.SndUna, c.SndNxt, c.sndMax)
			}
			if c.rcv.len() > c.rcv.limit || c.snd.len() > c.snd.limit {
				t.Fatalf("buffer overflow: recv %d/%d send %d/%d", c.rcv.len(), c.rcv.limit, c.snd.len(), c.snd.limit)
			}
			if c.state == Closed && !c.Deadline().IsZero() {
				t.Fatal("a timer runs in CLOSED")
			}
		}
	})
}
