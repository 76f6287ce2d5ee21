package tcp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// SYN cookies (RFC 4987 §3.6). A listener whose half-open queue is full
// answers a SYN without keeping any state: the ISN of its SYN-ACK is a
// cookie that encodes what the connection needs to remember, under a MAC.
// The peer's ACK returns the cookie as SEG.ACK-1; if it validates, the
// connection is made from it as if SYN-RECEIVED had kept a TCB and taken
// that ACK. A peer that never ACKs, as the spoofed sources of a SYN flood
// cannot, costs one SYN-ACK and no memory.
//
// The cookie is laid out as RFC 4987 §3.6 describes:
//
//	 31     27 26  24 23                                0
//	+---------+------+-----------------------------------+
//	| t mod 32| MSS  |  MAC(key, t, 4-tuple, IRS, MSS,   |
//	|         | index|      options in the timestamp)    |
//	+---------+------+-----------------------------------+
//
// t is a counter that ticks every 64 s (cookiePeriod). A cookie validates
// under the current t and the one before only: an honest ACK that crosses
// a tick still validates, a cookie more than one tick old does not, so a
// cookie lives between 64 and 128 s, more than the SYN-ACK retransmissions
// of any client. The MSS index points into cookieMSS: the peer's MSS is
// rounded down to a common value. The MAC binds the cookie to the
// 4-tuple and to the peer's ISN, so a cookie seen on one connection opens
// no other, and a tampered cookie or a wrong ACK number fails it (24 bits:
// a blind guess succeeds once in 16 million tries).
//
// Window scaling and SACK-permitted do not fit in the 32 bits. When the
// SYN carried timestamps (RFC 7323), they travel as Linux carries them: in
// the low bits of the TSval of our SYN-ACK, which the peer echoes in the
// TSecr of its ACK (cookieTSBits); the MAC covers them too, so they cannot
// be changed either. A SYN without timestamps gets a SYN-ACK without window
// scaling or SACK: the connection would have no way to remember them, so it
// does without (a window of at most 64 KiB and no selective
// acknowledgments, as RFC 4987 §3.6 warns).
//
// The MAC is SipHash-2-4 (siphash.go), as Linux's cookies use: a keyed
// PRF made for short inputs, a fifth of the cost of a SHA-256 here, which
// a flooded listener pays for every SYN. Its key is derived from the
// stack's ISN secret with HMAC-SHA256 under a label of its own
// (deriveCookieKey), once: the cookie MAC never uses the ISN key itself,
// and a cookie reveals nothing about the ISNs of other connections.

const (
	cookiePeriodShift = 6 // the counter t ticks every 1<<6 = 64 s
	cookieCounterBits = 5
	cookieMSSBits     = 3
	cookieMACBits     = 32 - cookieCounterBits - cookieMSSBits
	cookieMACMask     = 1<<cookieMACBits - 1
)

// cookieMSS are the MSS values a cookie can carry, lowest first: IPv4's
// default (RFC 9293 §3.7.1), IPv6's minimum (RFC 8200 §5), common tunnel
// and PPPoE values, Ethernet for IPv6 and IPv4, and a jumbo frame's.
var cookieMSS = [1 << cookieMSSBits]uint16{536, 1220, 1300, 1360, 1400, 1440, 1460, 8960}

// The options of a handshake with timestamps, in the low bits of the
// SYN-ACK's TSval: the peer's window scale (cookieNoWindowScale: none) and
// SACK-permitted. cookieNoTimestamps stands for a handshake without
// timestamps in the MAC.
const (
	cookieTSBits        = 5
	cookieTSMask        = 1<<cookieTSBits - 1
	cookieWindowScale   = 0x0f
	cookieNoWindowScale = 0x0f // RFC 7323 §2.3: a shift is at most 14
	cookieSACK          = 0x10
	cookieNoTimestamps  = 0xff
)

// deriveCookieKey derives the SYN cookie key from the ISN secret.
func deriveCookieKey(isnKey *[16]byte) [32]byte {
	m := hmac.New(sha256.New, isnKey[:])
	m.Write([]byte("tunstack SYN cookie key v1"))
	var key [32]byte
	m.Sum(key[:0])
	return key
}

// cookieCounter is t: the number of 64-second periods since the Unix
// epoch.
func cookieCounter(now time.Time) uint32 { return uint32(now.Unix() >> cookiePeriodShift) }

// cookieMAC is the low 24 bits of SipHash-2-4, keyed with the first 16
// bytes of the cookie key, over the fields the cookie vouches for.
func cookieMAC(key *[32]byte, t uint32, id ID, irs Seq, mssIndex, opts uint8) uint32 {
	var b [4 + 2*(16+2) + 4 + 2]byte
	binary.BigEndian.PutUint32(b[:], t)
	n := 4 + putAddrPorts(b[4:], id)
	binary.BigEndian.PutUint32(b[n:], uint32(irs))
	b[n+4], b[n+5] = mssIndex, opts
	k0, k1 := sipKey(key[:16])
	return uint32(sipHash24(k0, k1, b[:])) & cookieMACMask
}

// makeCookie is the ISN of a SYN-ACK that keeps no state.
func makeCookie(key *[32]byte, now time.Time, id ID, irs Seq, mssIndex, opts uint8) Seq {
	t := cookieCounter(now)
	return Seq(t<<(32-cookieCounterBits) | uint32(mssIndex)<<cookieMACBits | cookieMAC(key, t, id, irs, mssIndex, opts))
}

// cookieMSSIndex rounds the peer's MSS down to the table. An MSS below
// the table's lowest gets the lowest, 536, which every IPv4 host must
// take (RFC 9293 §3.7.1) and below IPv6's 1220; Linux does the same.
func cookieMSSIndex(mss uint16) uint8 {
	i := len(cookieMSS) - 1
	for i > 0 && cookieMSS[i] > mss {
		i--
	}
	return uint8(i)
}

// cookieTSVal is the TSval of a cookie SYN-ACK: our timestamp clock with
// its low bits replaced by the options. It never runs ahead of the clock,
// so the next segment's TSval does not go backwards (RFC 7323 §5.4).
func cookieTSVal(now time.Time, iss Seq, opts uint8) uint32 {
	clock := uint32(now.UnixMilli()) + timestampOffset(iss)
	v := clock&^cookieTSMask | uint32(opts)
	if int32(v-clock) > 0 {
		v -= cookieTSMask + 1
	}
	return v
}

// cookieOptions encodes the options of the peer's SYN that a cookie
// connection keeps, and reports whether the handshake has timestamps.
func cookieOptions(cfg *Config, peer *Options) (opts uint8, timestamps bool) {
	if !peer.HasTimestamps || cfg.DisableTimestamps {
		return cookieNoTimestamps, false
	}
	opts = cookieNoWindowScale
	if peer.HasWindowScale {
		opts = min(peer.WindowScale, 14)
	}
	if peer.SACKPermitted && !cfg.DisableSACK {
		opts |= cookieSACK
	}
	return opts, true
}

// completed returns cfg with its defaults and its cookie key.
func completed(cfg *Config) *Config {
	if cfg != nil && cfg.complete {
		return cfg
	}
	own := Config{}
	if cfg != nil {
		own = *cfg
	}
	own = own.WithDefaults()
	return &own
}

// SynCookieSYNACK is a listener's answer to syn when it keeps no state for
// it (RFC 4987 §3.6): a SYN-ACK whose ISN is a SYN cookie. id is the
// connection the SYN asks for, from this end. The options offered follow
// the SYN's as a SYN-ACK from SYN-RECEIVED would, except that window
// scaling and SACK are offered only with timestamps, which carry them.
// The owner sends it with ReasonSynCookieSent and forgets the SYN.
func SynCookieSYNACK(now time.Time, cfg *Config, id ID, syn *Segment) Segment {
	cfg = completed(cfg)
	peer := &syn.Options
	mss := peer.MSS
	if mss == 0 {
		mss = defaultPeerMSS(id)
	}
	mssIndex := cookieMSSIndex(mss)
	opts, timestamps := cookieOptions(cfg, peer)
	iss := makeCookie(&cfg.cookieKey, now, id, syn.Seq, mssIndex, opts)
	s := Segment{
		SrcPort: syn.DstPort, DstPort: syn.SrcPort,
		Seq: iss, Ack: syn.Seq.Add(1), Flags: FlagSYN | FlagACK,
		// A SYN's window is never scaled (RFC 7323 §2.2); it is the one a
		// fresh connection's receive buffer offers.
		Window: uint16(min(cfg.ReceiveBuffer, 0xffff)),
	}
	s.Options.MSS = cfg.MSS
	if timestamps {
		s.Options.HasTimestamps = true
		s.Options.TSVal = cookieTSVal(now, iss, opts)
		s.Options.TSEcr = peer.TSVal
		if peer.HasWindowScale {
			s.Options.HasWindowScale = true
			s.Options.WindowScale = receiveShift(cfg)
		}
		s.Options.SACKPermitted = opts&cookieSACK != 0
	}
	return s
}

// IsSynCookieACK reports whether seg could complete a handshake that a
// SYN cookie answered: an ACK without SYN or RST.
func IsSynCookieACK(seg *Segment) bool {
	return seg.Flags.Has(FlagACK) && seg.Flags&(FlagSYN|FlagRST) == 0
}

// cookieTCB is what a valid cookie says about its connection.
type cookieTCB struct {
	mss         uint16
	timestamps  bool
	windowScale int // -1: none
	sack        bool
}

// checkCookie validates ack as the third segment of a handshake answered
// by a SYN cookie: SEG.ACK-1 must be a cookie made under the current or
// the previous counter for this 4-tuple and IRS = SEG.SEQ-1, with the
// options the ACK's TSecr echoes.
func checkCookie(cfg *Config, now time.Time, id ID, ack *Segment) (cookieTCB, bool) {
	cookie := uint32(ack.Ack - 1)
	irs := ack.Seq - 1
	mssIndex := uint8(cookie >> cookieMACBits & (1<<cookieMSSBits - 1))
	opts := uint8(cookieNoTimestamps)
	if ack.Options.HasTimestamps && !cfg.DisableTimestamps {
		opts = uint8(ack.Options.TSEcr & cookieTSMask)
	}
	current := cookieCounter(now)
	valid := false
	for _, t := range [2]uint32{current, current - 1} {
		if t&(1<<cookieCounterBits-1) == cookie>>(32-cookieCounterBits) {
			valid = cookieMAC(&cfg.cookieKey, t, id, irs, mssIndex, opts) == cookie&cookieMACMask
			break
		}
	}
	if !valid {
		return cookieTCB{}, false
	}
	tcb := cookieTCB{mss: cookieMSS[mssIndex], windowScale: -1}
	if opts != cookieNoTimestamps {
		tcb.timestamps = true
		if ws := opts & cookieWindowScale; ws != cookieNoWindowScale {
			tcb.windowScale = int(ws)
		}
		tcb.sack = opts&cookieSACK != 0
	}
	return tcb, true
}

// InputSynCookie is SEGMENT ARRIVES in LISTEN for a segment that may
// complete a handshake answered by a SYN cookie (IsSynCookieACK). If the
// cookie validates, the connection rebuilds the TCB that SYN-RECEIVED
// would have kept (IRS, ISS, MSS, window scale, SACK, timestamps) and takes
// the ACK as SYN-RECEIVED does (RFC 9293 §3.10.7.4): it enters ESTABLISHED,
// with SND.WND from the ACK, and any data or FIN on it is processed. The
// state path reads LISTEN → SYN-RECEIVED (ReasonSynCookieValid) →
// ESTABLISHED. If not, the segment is an ACK in LISTEN: dropped and
// answered with a RST (ReasonSynCookieRejected). It reports whether the
// connection was made; any other segment goes to Input.
func (c *Conn) InputSynCookie(now time.Time, seg *Segment) bool {
	if c.state != Listen || !IsSynCookieACK(seg) {
		c.Input(now, seg)
		return false
	}
	c.segsIn++
	c.heard(now)
	tcb, ok := checkCookie(c.cfg, now, c.id, seg)
	if !ok {
		c.drop(seg, ReasonSynCookieRejected)
		c.sendReset(now, seg.Ack, ReasonSynCookieRejected)
		return false
	}
	// What inputListen would have set from the SYN.
	c.rcv.irs = seg.Seq - 1
	c.rcv.nxt = seg.Seq
	c.initSend(seg.Ack - 1)
	c.negotiate(&Options{
		MSS:            tcb.mss,
		HasWindowScale: tcb.windowScale >= 0, WindowScale: uint8(max(tcb.windowScale, 0)),
		SACKPermitted: tcb.sack,
		HasTimestamps: tcb.timestamps, TSVal: seg.Options.TSVal,
	})
	c.snd.wl1, c.snd.wl2 = c.rcv.irs, c.snd.iss
	// What our SYN-ACK advertised and acknowledged (sendSynchronize).
	c.rcv.edge = c.rcv.nxt.Add(min(c.rcvWindow(), 0xffff))
	c.rcv.lastAckSent = c.rcv.nxt
	c.setState(SynReceived, seg, ReasonSynCookieValid)

	// Take the ACK as SYN-RECEIVED does, on a copy in the workspace
	// (inputSynchronized copies it there anyway). Its TSecr echoes a
	// TSval whose low bits were the options: an RTT measured from it
	// could be 31 ms too long, so none is taken; the first ACK of data
	// gives a true one.
	s := &c.env.work.in
	*s = *seg
	s.Options.TSEcr = 0
	c.inputSynchronized(now, s)
	return c.state != Closed
}
