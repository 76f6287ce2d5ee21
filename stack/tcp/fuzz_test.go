package tcp

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"
)

// FuzzInput feeds arbitrary segments, user calls, ICMP errors and time
// steps to a connection that starts established, listening, in SYN-SENT or
// in SYN-RECEIVED, under one of many configurations, and checks after each
// step that the engine did not panic, that every state change was an edge
// of RFC 9293's Figure 5 (the harness checks each with CheckTransition)
// continuing from the state before, and that the TCB keeps its invariants
// (CheckInvariants: SND.UNA =< SND.NXT =< highest sent, buffers within
// their bounds, no timer in CLOSED).
//
// The script: a setup byte, a configuration byte, then steps of 10 bytes
// (op, SEG.SEQ-IRS, SEG.ACK-ISS, a length byte) and their payload.
func FuzzInput(f *testing.F) {
	f.Add([]byte{0, 0, 0x12, 0, 0, 0, 1, 0, 0, 0, 1, 3, 'a', 'b', 'c'})
	f.Add([]byte{0, 0, 0x04, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0x11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0x80, 0x81, 0x82})
	// A SYN with every option to the listener, then its ACK and a FIN.
	f.Add([]byte{1, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0xf8, 0x10, 0, 0, 0, 1, 0, 0, 0, 1, 0x08, 0x11, 0, 0, 0, 1, 0, 0, 0, 1, 0x08})
	// SYN-SENT: a SYN-ACK, then data and the time to acknowledge it.
	f.Add([]byte{2, 0x20, 0x12, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x18, 0, 0, 0, 1, 0, 0, 0, 1, 2, 'h', 'i', 0xc5})
	// SYN-RECEIVED: a RST, then a SYN.
	f.Add([]byte{3, 0, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	// Established: close, the peer's FIN and ACK, then 2MSL.
	f.Add([]byte{0, 0x01, 0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11, 0, 0, 0, 1, 0, 0, 0, 13, 0, 0xff, 0xff})
	// A port unreachable and a packet too big quoting the SYN-ACK.
	f.Add([]byte{3, 0, 0x85, 0, 0, 0, 0, 0xff, 0xff, 0xd8, 0xf0, 1, 2, 0x85, 0, 0, 0, 0, 0, 0, 0x02, 0x40, 1, 4})
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) < 2 {
			return
		}
		defer hangWatchdog()()
		h := fuzzSetup(t, script[0], fuzzConfig(script[1]))
		script = script[2:]
		state := h.c.State()
		seen := len(h.states)
		readBuf := make([]byte, 256<<10)
		for len(script) >= 10 {
			op := script[0]
			seq := remoteISS + Seq(binary.BigEndian.Uint32(script[1:5]))
			ack := localISS + Seq(binary.BigEndian.Uint32(script[5:9]))
			n, opts := int(script[9])%8, script[9]>>3
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
				h.peerTS++
				s.Options = fuzzOptions(opts, ack, h.peerTS)
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
					h.c.Receive(h.now, readBuf[:5])
				case 4:
					h.c.Abort(h.now)
				case 5:
					// An ICMP error quoting SEG.SEQ=ack, for next-hop MTU seq.
					h.c.ICMP(h.now, ICMPError{Kind: ICMPErrorKind(1 + int(opts)%7), Seq: ack, MTU: int(seq - remoteISS)})
				case 6:
					h.c.Receive(h.now, readBuf)
				case 7:
					h.c.Send(h.now, make([]byte, int(opts)<<12))
				}
			case 3:
				h.advance(time.Duration(op&0x3f) * 100 * time.Millisecond)
			}
			for _, e := range h.states[seen:] {
				if e.from != state {
					t.Fatalf("state change %s -> %s (%s), but the connection was in %s", e.from, e.to, e.why, state)
				}
				state = e.to
			}
			seen = len(h.states)
			if err := h.c.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// fuzzSetup brings a connection into the state a fuzz script starts from.
func fuzzSetup(t *testing.T, which byte, cfg *Config) *harness {
	switch which % 4 {
	case 1:
		return listeningWith(t, cfg)
	case 2:
		return synSentWith(t, cfg)
	case 3:
		return synReceivedWith(t, cfg)
	}
	h := establishedWith(t, cfg)
	h.c.Send(h.now, []byte("queued data"))
	return h
}

// fuzzConfig turns a byte into one of the configurations a daemon can
// run with: each bit changes one policy from its default.
func fuzzConfig(b byte) *Config {
	cfg := testConfig()
	cfg.DisableRFC1337 = b&1 != 0
	cfg.DisableTimeWaitReuse = b&2 != 0
	if b&4 != 0 {
		cfg.UserTimeout = 5 * time.Second
	}
	if b&8 != 0 {
		cfg.KeepAliveIdle, cfg.KeepAliveInterval, cfg.KeepAliveCount = 10*time.Second, time.Second, 3
	}
	cfg.Nagle = b&16 != 0
	if b&32 != 0 {
		cfg.DelayedACK = -1
		cfg.MaxReceiveBuffer = 1 << 20 // window scaling
	}
	if b&64 != 0 {
		cfg.InvalidRateLimit = -1
	}
	if b&128 != 0 {
		cfg.Congestion = NewReno
	}
	return cfg
}

// fuzzOptions turns the five option bits of a step into TCP options: MSS,
// window scale and SACK-permitted (which count on a SYN), timestamps, and
// a SACK block above ack.
func fuzzOptions(bits byte, ack Seq, tsVal uint32) Options {
	var o Options
	if bits&1 != 0 {
		o.HasTimestamps, o.TSVal, o.TSEcr = true, tsVal, 1
	}
	if bits&2 != 0 {
		o.SACK[0] = SACKBlock{Left: ack.Add(1000), Right: ack.Add(2000)}
		o.NumSACK = 1
	}
	if bits&4 != 0 {
		o.MSS = 536 + uint16(bits)*100
	}
	if bits&8 != 0 {
		o.HasWindowScale, o.WindowScale = true, 7*(bits>>4&1)+7
	}
	if bits&16 != 0 {
		o.SACKPermitted = true
	}
	return o
}

// hangWatchdog turns a script that runs for more than ten seconds, a
// livelock in the engine, into a crash with every goroutine's stack, which
// the fuzzer records as a failing input. Call the function it returns when
// the script ends.
func hangWatchdog() (stop func()) {
	timer := time.AfterFunc(10*time.Second, func() {
		buf := make([]byte, 1<<20)
		panic("the script has run for 10 s: a livelock?\n" + string(buf[:runtime.Stack(buf, true)]))
	})
	return func() { timer.Stop() }
}
