package tcp

import (
	"bytes"
	"fmt"
	"math/rand"
	"net/netip"
	"testing"
	"time"
)

// cookieEpoch is the start of a 64-second cookie period, so that tests
// know exactly when the counter ticks.
var cookieEpoch = time.Unix(1_000_000/64*64, 0)

func cookieID() ID { return ID{Local: localAP, Remote: remoteAP} }

// cookieSYN is the peer's SYN with the given options.
func cookieSYN(opts Options) Segment {
	s := seg(FlagSYN, remoteISS, 0)
	s.Options = opts
	return s
}

// cookieACK is the peer's answer to a cookie SYN-ACK: the third segment
// of the handshake, echoing the SYN-ACK's timestamp if it had one.
func cookieACK(synack *Segment, payload ...string) Segment {
	ack := seg(FlagACK, synack.Ack, synack.Seq+1, payload...)
	if synack.Options.HasTimestamps {
		ack.Options.HasTimestamps = true
		ack.Options.TSVal = 777
		ack.Options.TSEcr = synack.Options.TSVal
	}
	return ack
}

// cookieListener is a connection in LISTEN on a virtual clock at now.
func cookieListener(t *testing.T, cfg *Config, now time.Time) *harness {
	t.Helper()
	h := newHarness(t, cfg)
	h.now = now
	if err := h.c.OpenPassive(h.now); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSynCookieSYNACK(t *testing.T) {
	cfg := testConfig()
	syn := cookieSYN(Options{MSS: 1460, HasWindowScale: true, WindowScale: 7, SACKPermitted: true, HasTimestamps: true, TSVal: 4242})
	sa := SynCookieSYNACK(cookieEpoch, cfg, cookieID(), &syn)
	if sa.Flags != FlagSYN|FlagACK || sa.Ack != remoteISS+1 || sa.SrcPort != localAP.Port() || sa.DstPort != remoteAP.Port() {
		t.Fatalf("SYN-ACK %v, want SYN-ACK acknowledging %d from port %d", sa.String(), remoteISS+1, localAP.Port())
	}
	o := sa.Options
	want := receiveShift(completed(cfg))
	if o.MSS != cfg.MSS || !o.HasWindowScale || o.WindowScale != want || !o.SACKPermitted || !o.HasTimestamps || o.TSEcr != 4242 {
		t.Fatalf("options %+v, want MSS %d, window scale %d, SACK-permitted, timestamps echoing 4242", o, cfg.MSS, want)
	}
	if want := min(cfg.ReceiveBuffer, 0xffff); int(sa.Window) != want {
		t.Errorf("window %d, want the receive buffer's %d unscaled", sa.Window, want)
	}
	// The same SYN gets the same cookie: nothing was kept between calls.
	if again := SynCookieSYNACK(cookieEpoch, cfg, cookieID(), &syn); again.Seq != sa.Seq {
		t.Errorf("cookie %d then %d for the same SYN in the same period", sa.Seq, again.Seq)
	}
	// The low bits of TSval carry window scale 7 and SACK; the value never
	// runs ahead of the connection's timestamp clock.
	if o.TSVal&cookieTSMask != 7|cookieSACK {
		t.Errorf("TSval %#x: low bits %#x, want %#x", o.TSVal, o.TSVal&cookieTSMask, 7|cookieSACK)
	}
	if clock := uint32(cookieEpoch.UnixMilli()) + timestampOffset(sa.Seq); int32(o.TSVal-clock) > 0 || clock-o.TSVal > cookieTSMask {
		t.Errorf("TSval %d against clock %d: want at most 31 behind, never ahead", o.TSVal, clock)
	}
}

func TestSynCookieWithoutTimestampsOffersNoScaleOrSACK(t *testing.T) {
	// Without timestamps nothing can carry them: RFC 4987 §3.6's loss.
	syn := cookieSYN(Options{MSS: 1460, HasWindowScale: true, WindowScale: 7, SACKPermitted: true})
	sa := SynCookieSYNACK(cookieEpoch, testConfig(), cookieID(), &syn)
	if o := sa.Options; o.HasWindowScale || o.SACKPermitted || o.HasTimestamps {
		t.Fatalf("options %+v: want MSS alone", o)
	}
}

func TestSynCookieRoundTrip(t *testing.T) {
	// Every field a cookie carries comes back in the connection the ACK
	// makes: the MSS rounded down to the table, the peer's window scale,
	// SACK-permitted, timestamps, and both ISNs.
	type tc struct {
		name string
		syn  Options
		id   ID
		// what the connection must have
		mss        uint16
		scale      int // -1: no window scaling
		sack, ts   bool
		disableTS  bool
		disableSCK bool
	}
	var cases []tc
	for i, m := range cookieMSS {
		below := cookieMSS[max(i-1, 0)]
		cases = append(cases,
			tc{name: fmt.Sprintf("mss %d", m), syn: Options{MSS: m}, mss: m, scale: -1},
			tc{name: fmt.Sprintf("mss %d", m+1), syn: Options{MSS: m + 1}, mss: m, scale: -1},
			tc{name: fmt.Sprintf("mss %d", m-1), syn: Options{MSS: m - 1}, mss: below, scale: -1},
		)
	}
	v6 := ID{Local: netip.MustParseAddrPort("[fd00:77::2]:80"), Remote: netip.MustParseAddrPort("[fd00:77::1]:40000")}
	cases = append(cases,
		tc{name: "mss 100 gets the table's least", syn: Options{MSS: 100}, mss: 536, scale: -1},
		tc{name: "no mss, IPv4", syn: Options{}, mss: 536, scale: -1},
		tc{name: "no mss, IPv6", syn: Options{}, id: v6, mss: 1220, scale: -1},
		tc{name: "timestamps alone", syn: Options{MSS: 1460, HasTimestamps: true, TSVal: 1}, mss: 1460, scale: -1, ts: true},
		tc{name: "sack", syn: Options{MSS: 1460, HasTimestamps: true, TSVal: 1, SACKPermitted: true}, mss: 1460, scale: -1, ts: true, sack: true},
		tc{name: "scale 15 is 14", syn: Options{MSS: 1460, HasTimestamps: true, TSVal: 1, HasWindowScale: true, WindowScale: 15}, mss: 1460, scale: 14, ts: true},
		tc{name: "sack refused by config", syn: Options{MSS: 1460, HasTimestamps: true, TSVal: 1, SACKPermitted: true, HasWindowScale: true, WindowScale: 3}, mss: 1460, scale: 3, ts: true, disableSCK: true},
		tc{name: "timestamps refused by config", syn: Options{MSS: 1460, HasTimestamps: true, TSVal: 1, SACKPermitted: true, HasWindowScale: true, WindowScale: 3}, mss: 1460, scale: -1, disableTS: true},
		tc{name: "without timestamps scale and sack are lost", syn: Options{MSS: 1460, SACKPermitted: true, HasWindowScale: true, WindowScale: 3}, mss: 1460, scale: -1},
	)
	for ws := range 15 {
		for _, sack := range []bool{false, true} {
			cases = append(cases, tc{name: fmt.Sprintf("scale %d sack %v", ws, sack),
				syn: Options{MSS: 1440, HasTimestamps: true, TSVal: 99, HasWindowScale: true, WindowScale: uint8(ws), SACKPermitted: sack},
				mss: 1440, scale: ws, ts: true, sack: sack})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.MSS = 9000 // the peer's MSS is not clamped by ours
			cfg.DisableTimestamps, cfg.DisableSACK = c.disableTS, c.disableSCK
			id := c.id
			if id == (ID{}) {
				id = cookieID()
			}
			syn := cookieSYN(c.syn)
			syn.SrcPort, syn.DstPort = id.Remote.Port(), id.Local.Port()
			sa := SynCookieSYNACK(cookieEpoch, cfg, id, &syn)
			h := &harness{t: t, now: cookieEpoch.Add(300 * time.Millisecond)}
			h.c = New(id, cfg, NewEnv(h, h, nil))
			h.c.OpenPassive(h.now)
			ack := cookieACK(&sa)
			ack.SrcPort, ack.DstPort = id.Remote.Port(), id.Local.Port()
			if !h.c.InputSynCookie(h.now, &ack) {
				t.Fatalf("cookie %d rejected; drops %v", sa.Seq, h.drops)
			}
			st := h.c.Status()
			if st.State != Established || st.ISS != sa.Seq || st.IRS != remoteISS || st.SndUna != sa.Seq+1 || st.RcvNxt != remoteISS+1 {
				t.Fatalf("%s ISS %d IRS %d SND.UNA %d RCV.NXT %d, want ESTABLISHED ISS %d IRS %d", st.State, st.ISS, st.IRS, st.SndUna, st.RcvNxt, sa.Seq, remoteISS)
			}
			if st.MSS != c.mss || st.SendWindowScale != c.scale || st.SACK != c.sack || st.Timestamps != c.ts {
				t.Fatalf("MSS %d scale %d SACK %v timestamps %v; want %d %d %v %v", st.MSS, st.SendWindowScale, st.SACK, st.Timestamps, c.mss, c.scale, c.sack, c.ts)
			}
			if c.scale >= 0 && st.RecvWindowScale != int(receiveShift(h.c.cfg)) {
				t.Fatalf("our window scale %d, want the %d the SYN-ACK offered", st.RecvWindowScale, receiveShift(h.c.cfg))
			}
			// SND.WND comes from the ACK, scaled as agreed.
			if want := uint32(peerWnd) << max(c.scale, 0); st.SndWnd != want {
				t.Fatalf("SND.WND %d, want %d", st.SndWnd, want)
			}
		})
	}
}

func TestSynCookieConnectionEvents(t *testing.T) {
	h := cookieListener(t, nil, cookieEpoch)
	syn := cookieSYN(Options{MSS: 1000})
	sa := SynCookieSYNACK(h.now, testConfig(), cookieID(), &syn)
	h.now = h.now.Add(time.Millisecond)
	ack := cookieACK(&sa, "hello") // data on the third segment is not lost
	if !h.c.InputSynCookie(h.now, &ack) {
		t.Fatal("cookie rejected")
	}
	want := []stateEvent{
		{Closed, Listen, ReasonUserOpenPassive},
		{Listen, SynReceived, ReasonSynCookieValid},
		{SynReceived, Established, ReasonSynReceivedACK},
	}
	if fmt.Sprint(h.states) != fmt.Sprint(want) {
		t.Fatalf("states %v, want %v", h.states, want)
	}
	if got := h.read(); got != "hello" {
		t.Fatalf("read %q, want the ACK's data", got)
	}
	if !h.c.Passive() {
		t.Error("a cookie connection is a passive open")
	}
	h.advance(time.Second)
	h.expect(out(FlagACK, sa.Seq+1, remoteISS+6)) // the delayed ACK of the data
}

func TestSynCookieRejected(t *testing.T) {
	cfg := testConfig()
	syn := cookieSYN(Options{MSS: 1000, HasTimestamps: true, TSVal: 5, HasWindowScale: true, WindowScale: 2, SACKPermitted: true})
	sa := SynCookieSYNACK(cookieEpoch, cfg, cookieID(), &syn)
	good := cookieACK(&sa)
	at := cookieEpoch.Add(time.Second)

	reject := func(t *testing.T, h *harness, ack Segment) {
		t.Helper()
		if h.c.InputSynCookie(h.now, &ack) {
			t.Fatalf("ACK %v accepted; want it rejected", ack.String())
		}
		if h.c.State() != Listen {
			t.Fatalf("state %s, want LISTEN", h.c.State())
		}
		if len(h.drops) != 1 || h.drops[0] != ReasonSynCookieRejected {
			t.Fatalf("drops %v, want [%v]", h.drops, ReasonSynCookieRejected)
		}
		// An ACK in LISTEN: <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.2).
		rst := out(FlagRST, ack.Ack, 0)
		rst.SrcPort, rst.DstPort = ack.DstPort, ack.SrcPort
		h.expect(rst)
		if h.out = nil; len(h.states) != 1 {
			t.Fatalf("state changes %v, want none after LISTEN", h.states)
		}
	}
	t.Run("valid", func(t *testing.T) {
		h := cookieListener(t, cfg, at)
		ack := good
		if !h.c.InputSynCookie(h.now, &ack) {
			t.Fatal("the untouched ACK is rejected")
		}
	})
	t.Run("wrong 4-tuple", func(t *testing.T) {
		for _, id := range []ID{
			{Local: localAP, Remote: netip.AddrPortFrom(remoteAP.Addr(), remoteAP.Port()+1)},
			{Local: localAP, Remote: netip.MustParseAddrPort("10.77.0.9:40000")},
			{Local: netip.MustParseAddrPort("10.77.0.2:81"), Remote: remoteAP},
		} {
			h := &harness{t: t, now: at}
			h.c = New(id, cfg, NewEnv(h, h, nil))
			h.c.OpenPassive(h.now)
			ack := good
			ack.SrcPort, ack.DstPort = id.Remote.Port(), id.Local.Port()
			reject(t, h, ack)
		}
	})
	t.Run("tampered cookie", func(t *testing.T) {
		for bit := range 32 {
			h := cookieListener(t, cfg, at)
			ack := good
			ack.Ack ^= 1 << bit
			reject(t, h, ack)
		}
	})
	t.Run("tampered options in the timestamp", func(t *testing.T) {
		for bit := range cookieTSBits {
			h := cookieListener(t, cfg, at)
			ack := good
			ack.Options.TSEcr ^= 1 << bit
			reject(t, h, ack)
		}
		h := cookieListener(t, cfg, at)
		ack := good
		ack.Options.HasTimestamps = false // the SYN had them
		reject(t, h, ack)
	})
	t.Run("wrong sequence number", func(t *testing.T) {
		for _, d := range []Seq{1, ^Seq(0), 1000} {
			h := cookieListener(t, cfg, at)
			ack := good
			ack.Seq += d
			reject(t, h, ack)
		}
	})
	t.Run("wrong ACK number", func(t *testing.T) {
		for _, d := range []Seq{1, 2, ^Seq(0)} {
			h := cookieListener(t, cfg, at)
			ack := good
			ack.Ack += d
			reject(t, h, ack)
		}
	})
	t.Run("another stack's key", func(t *testing.T) {
		other := testConfig()
		other.ISNKey[0] = 1
		h := cookieListener(t, other, at)
		reject(t, h, good)
	})
}

func TestSynCookieRotation(t *testing.T) {
	// A cookie validates under its own counter and the next one only.
	cfg := testConfig()
	for _, made := range []time.Duration{0, 30 * time.Second, 64*time.Second - time.Millisecond} {
		syn := cookieSYN(Options{MSS: 1000})
		sa := SynCookieSYNACK(cookieEpoch.Add(made), cfg, cookieID(), &syn)
		for _, c := range []struct {
			at    time.Duration // since the start of the period it was made in
			valid bool
		}{
			{made, true},
			{made + 200*time.Millisecond, true}, // an honest ACK, maybe across a tick
			{64 * time.Second, true},            // the next period
			{128*time.Second - time.Millisecond, true},
			{128 * time.Second, false}, // two ticks: expired
			{200 * time.Second, false},
			{32 * 64 * time.Second, false}, // t mod 32 comes round again: still the wrong MAC
			{-time.Millisecond, false},     // a cookie from the future
		} {
			h := cookieListener(t, cfg, cookieEpoch.Add(c.at))
			ack := cookieACK(&sa)
			if got := h.c.InputSynCookie(h.now, &ack); got != c.valid {
				t.Errorf("cookie made at +%v, ACK at +%v: valid %v, want %v", made, c.at, got, c.valid)
			}
		}
	}
}

func TestSynCookieKeyIsDerived(t *testing.T) {
	var isn [16]byte
	for i := range isn {
		isn[i] = byte(i + 1)
	}
	key := deriveCookieKey(&isn)
	if bytes.Contains(key[:], isn[:4]) {
		t.Fatalf("cookie key %x contains the ISN key's bytes", key)
	}
	isn[15]++
	if other := deriveCookieKey(&isn); other == key {
		t.Fatal("two ISN keys give one cookie key")
	}
}

// cookiePair makes a connection between an active engine b and a passive
// engine a whose listener answered b's SYN with a SYN cookie and kept no
// state until b's ACK.
func cookiePair(t *testing.T, ca, cb *Config) (a, b *harness) {
	t.Helper()
	cb.ISN = func(ID, time.Time) Seq { return remoteISS }
	b = &harness{t: t, now: cookieEpoch}
	b.c = New(ID{Local: remoteAP, Remote: localAP}, cb, NewEnv(b, b, nil))
	b.c.OpenActive(b.now)
	if len(b.out) != 1 {
		t.Fatalf("active open sent %s", fmtSent(b.out))
	}
	syn := b.out[0].Segment
	b.out = nil
	sa := SynCookieSYNACK(cookieEpoch, ca, ID{Local: localAP, Remote: remoteAP}, &syn)
	b.c.Input(b.now, &sa)
	if len(b.out) != 1 || b.c.State() != Established {
		t.Fatalf("%s after the cookie SYN-ACK, sent %s", b.c.State(), fmtSent(b.out))
	}
	ack := b.out[0].Segment
	b.out = nil
	a = cookieListener(t, ca, cookieEpoch)
	if !a.c.InputSynCookie(a.now, &ack) {
		t.Fatal("the client's ACK did not validate")
	}
	return a, b
}

func TestSynCookieConnectionTransfersWithScaleAndSACK(t *testing.T) {
	// Both ways, 1 MiB, over a lossy link: windows beyond 64 KiB need the
	// window scale the cookie carried, and recovery uses SACK blocks.
	ca, cb := testConfig(), testConfig()
	ca.ReceiveBuffer, cb.ReceiveBuffer = 256<<10, 256<<10
	ca.SendBuffer, cb.SendBuffer = 256<<10, 256<<10
	a, b := cookiePair(t, ca, cb)
	sa, sb := a.c.Status(), b.c.Status()
	if sa.SendWindowScale != sb.RecvWindowScale || sb.SendWindowScale != sa.RecvWindowScale || sa.SendWindowScale <= 0 {
		t.Fatalf("window scales: a sends %d receives %d, b sends %d receives %d", sa.SendWindowScale, sa.RecvWindowScale, sb.SendWindowScale, sb.RecvWindowScale)
	}
	if !sa.SACK || !sb.SACK || !sa.Timestamps || !sb.Timestamps {
		t.Fatalf("SACK %v/%v timestamps %v/%v, want all on", sa.SACK, sb.SACK, sa.Timestamps, sb.Timestamps)
	}
	var sackFromA, sackFromB int
	var maxWndA, maxWndB uint32
	link := &lossyLink{rng: rand.New(rand.NewSource(7)), delay: 20 * time.Millisecond, loss: 0.02, reorder: 0.01,
		seen: func(from *harness, s *Segment) {
			if s.Options.NumSACK > 0 {
				if from == a {
					sackFromA++
				} else {
					sackFromB++
				}
			}
		}}
	payload := make([]byte, 1<<20)
	rand.New(rand.NewSource(3)).Read(payload)
	x := newExchange(payload)
	link.run(t, a, b, 10*time.Minute, func() {
		x.step(a, b)
		maxWndA, maxWndB = max(maxWndA, a.c.snd.wnd), max(maxWndB, b.c.snd.wnd)
	}, x.done)
	if !x.intact() {
		t.Fatal("data corrupted")
	}
	if maxWndA <= 0xffff || maxWndB <= 0xffff {
		t.Errorf("largest send windows %d and %d: want beyond 64 KiB, as scaling allows", maxWndA, maxWndB)
	}
	if sackFromA == 0 || sackFromB == 0 {
		t.Errorf("segments with SACK blocks: %d from the cookie end, %d from the other; want both", sackFromA, sackFromB)
	}
	t.Logf("windows up to %d/%d, SACK segments %d/%d, retransmissions %d/%d",
		maxWndA, maxWndB, sackFromA, sackFromB, a.c.Status().Retransmits, b.c.Status().Retransmits)
}

// BenchmarkSynCookie measures a cookie's two halves: the SYN-ACK of a
// flooded listener, and the check of the ACK that answers it.
func BenchmarkSynCookie(b *testing.B) {
	cfg := completed(testConfig())
	syn := cookieSYN(Options{MSS: 1460, HasWindowScale: true, WindowScale: 7, SACKPermitted: true, HasTimestamps: true, TSVal: 4242})
	id := cookieID()
	b.Run("SYN-ACK", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			syn.Seq = Seq(i)
			sa := SynCookieSYNACK(cookieEpoch, cfg, id, &syn)
			if sa.Flags == 0 {
				b.Fatal("no SYN-ACK")
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		sa := SynCookieSYNACK(cookieEpoch, cfg, id, &syn)
		ack := cookieACK(&sa)
		b.ReportAllocs()
		for range b.N {
			if _, ok := checkCookie(cfg, cookieEpoch, id, &ack); !ok {
				b.Fatal("the cookie did not validate")
			}
		}
	})
}
