package tcp

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The differential test of TIME-WAIT: a Conn in TIME-WAIT and the record
// made from it must answer every segment alike, since an owner may hold
// either (the stack keeps the record; a connection with unread data stays
// a Conn). Both are fed the same generated sequences of segments and of
// time passing, and everything that leaves them is compared: each segment
// sent with its reason, each drop with its reason, each state change, and
// when TIME-WAIT ends.
//
// The segments cover every combination of the six control bits, sequence
// numbers at and around the edges of the window and below RCV.NXT, ACKs
// at and around SND.NXT and the oldest acceptable one (RFC 5961 §5.2),
// payloads of none, one and many octets, and timestamps equal to
// TS.Recent, newer, older (PAWS) or missing; the connections differ in
// timestamps, SACK, window scaling, RFC 1337, reuse (RFC 6191), the
// invalid-segment rate limit, an owner's budget of answers, and the way
// they came to TIME-WAIT.

// twSetup is one way to bring a connection to TIME-WAIT.
type twSetup struct {
	name        string
	timestamps  bool // the peer's SYN offers timestamps
	sack        bool
	windowScale int // the peer's window scale, or -1
	path        string
	budget      uint64 // bit i refuses the owner's i-th answer; 0: no budget
	cfg         func(*Config)
}

var twSetups = []twSetup{
	{name: "plain", windowScale: -1, path: "fin-wait-2"},
	{name: "timestamps", timestamps: true, sack: true, windowScale: 7, path: "fin-wait-2"},
	{name: "timestamps-closing", timestamps: true, windowScale: 2, path: "closing"},
	{name: "fin-with-ack", timestamps: true, sack: true, windowScale: -1, path: "fin-ack"},
	{name: "rfc1337-off", timestamps: true, windowScale: 3, path: "fin-wait-2",
		cfg: func(c *Config) { c.DisableRFC1337 = true }},
	{name: "rfc1337-off-plain", windowScale: -1, path: "closing",
		cfg: func(c *Config) { c.DisableRFC1337 = true }},
	{name: "no-reuse", timestamps: true, windowScale: 7, path: "fin-wait-2",
		cfg: func(c *Config) { c.DisableTimeWaitReuse = true }},
	{name: "no-rate-limit", timestamps: true, windowScale: -1, path: "fin-wait-2",
		cfg: func(c *Config) { c.InvalidRateLimit = -1 }},
	{name: "budget", timestamps: true, windowScale: 5, path: "fin-wait-2", budget: 0b0110_1101_0011_0110,
		cfg: func(c *Config) { c.InvalidRateLimit = -1 }},
	{name: "budget-rate-limit", windowScale: -1, path: "closing", budget: 0b1010_1010},
	{name: "short-msl", timestamps: true, windowScale: 1, path: "fin-ack",
		cfg: func(c *Config) { c.MSL = 400 * time.Millisecond }},
}

// twBudget is an AnswerBudget that refuses the answers a bit pattern says.
type twBudget struct {
	pattern uint64
	asked   int
}

func (b *twBudget) allow() bool {
	refuse := b.pattern&(1<<(b.asked%64)) != 0
	b.asked++
	return !refuse
}

// budgetOutput is a harness's Output that is also an AnswerBudget.
type budgetOutput struct {
	*harness
	*twBudget
}

func (o budgetOutput) AllowAnswer(time.Time, Reason) bool { return o.allow() }

// recordBudget is the same budget for the record's owner.
type recordBudget struct{ *twBudget }

func (b recordBudget) AllowAnswer(time.Time, Reason) bool { return b.allow() }

// conn brings a Conn to TIME-WAIT as the setup says.
func (su twSetup) conn(t *testing.T) *harness {
	t.Helper()
	cfg := testConfig()
	if su.cfg != nil {
		su.cfg(cfg)
	}
	h := &harness{t: t, now: epoch}
	var out Output = h
	if su.budget != 0 {
		out = budgetOutput{h, &twBudget{pattern: su.budget}}
	}
	h.c = New(ID{Local: localAP, Remote: remoteAP}, cfg, NewEnv(out, h, nil))
	stamp := func(s Segment) Segment {
		if su.timestamps {
			h.peerTS += 7
			s.Options.HasTimestamps, s.Options.TSVal = true, h.peerTS
		}
		return s
	}
	h.c.OpenPassive(h.now)
	syn := seg(FlagSYN, remoteISS, 0)
	syn.Options = Options{MSS: 1000, SACKPermitted: su.sack, HasWindowScale: su.windowScale >= 0, WindowScale: uint8(max(su.windowScale, 0))}
	h.peerTS = 1000
	h.send(stamp(syn))
	h.send(stamp(seg(FlagACK, remoteISS+1, localISS+1)))
	h.send(stamp(seg(FlagACK|FlagPSH, remoteISS+1, localISS+1, "request")))
	var buf [16]byte
	h.c.Receive(h.now, buf[:])
	h.write("response")
	h.advance(10 * time.Millisecond)
	h.send(stamp(seg(FlagACK, remoteISS+8, localISS+9)))
	h.c.CloseSend(h.now)
	switch su.path {
	case "fin-wait-2":
		h.send(stamp(seg(FlagACK, remoteISS+8, localISS+10)))
		h.send(stamp(seg(FlagFIN|FlagACK, remoteISS+8, localISS+10)))
	case "closing":
		h.send(stamp(seg(FlagFIN|FlagACK, remoteISS+8, localISS+9)))
		h.expectState(Closing)
		h.send(stamp(seg(FlagACK, remoteISS+9, localISS+10)))
	case "fin-ack":
		h.send(stamp(seg(FlagFIN|FlagACK, remoteISS+8, localISS+10)))
	}
	h.expectState(TimeWait)
	h.out, h.drops, h.states = nil, nil, nil
	return h
}

// twObservation is what one step made a form of the connection do.
type twObservation struct {
	Sent   []string
	Drops  []Reason
	States []stateEvent
	Ends   time.Time // when TIME-WAIT ends; zero once it has
}

func (o twObservation) String() string {
	return fmt.Sprintf("sent %v, drops %v, states %v, ends %v", o.Sent, o.Drops, o.States, o.Ends.Sub(epoch))
}

// fmtSentFull is a segment with every field that a reply may set.
func fmtSentFull(s *Segment, why Reason) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s ports=%d>%d", fmtSeg(s), s.SrcPort, s.DstPort)
	if o := s.Options; o.HasTimestamps {
		fmt.Fprintf(&b, " ts=%d/%d", o.TSVal, o.TSEcr)
	}
	for _, blk := range s.Options.SACK[:s.Options.NumSACK] {
		fmt.Fprintf(&b, " sack=%d-%d", blk.Left, blk.Right)
	}
	if len(s.Payload) > 0 {
		fmt.Fprintf(&b, " payload=%q", s.Payload)
	}
	if why != ReasonNone {
		fmt.Fprintf(&b, " (%s)", why)
	}
	return b.String()
}

// twStep is one step of a sequence: a segment, or time passing.
type twStep struct {
	seg   *Segment
	after time.Duration
}

func (st twStep) String() string {
	if st.seg == nil {
		return "after " + st.after.String()
	}
	return fmtSentFull(st.seg, ReasonNone)
}

// twPair is the two forms of one connection in TIME-WAIT.
type twPair struct {
	h       *harness // the Conn
	rec     TimeWaitRecord
	recLive bool
	budget  AnswerBudget
}

func newTWPair(t *testing.T, su twSetup) *twPair {
	h := su.conn(t)
	rec, ok := h.c.TimeWaitRecord()
	if !ok {
		t.Fatal("no record in TIME-WAIT")
	}
	p := &twPair{h: h, rec: rec, recLive: true}
	if su.budget != 0 {
		p.budget = recordBudget{&twBudget{pattern: su.budget}}
	}
	return p
}

// conn plays a step on the Conn as the stack does: a SYN that may reopen
// the 4-tuple is offered to ReopenTimeWait first.
func (p *twPair) conn(st twStep) twObservation {
	h := p.h
	if st.seg == nil {
		h.advance(st.after)
	} else if h.c.State() == TimeWait && !h.c.ReopenTimeWait(st.seg) {
		h.c.Input(h.now, st.seg)
	}
	var o twObservation
	for i := range h.out {
		o.Sent = append(o.Sent, fmtSentFull(&h.out[i].Segment, h.out[i].why))
	}
	o.Drops, o.States = h.drops, h.states
	if h.c.State() == TimeWait {
		o.Ends = h.c.Deadline()
	}
	h.out, h.drops, h.states = nil, nil, nil
	return o
}

// record plays the same step on the record, as its owner does.
func (p *twPair) record(st twStep, now time.Time) twObservation {
	var o twObservation
	if !p.recLive {
		return o
	}
	end := func(why Reason) {
		o.States = append(o.States, stateEvent{TimeWait, Closed, why})
		p.recLive = false
	}
	if st.seg == nil {
		if !now.Before(p.rec.Expires()) {
			end(ReasonTimeWaitExpired)
		}
	} else {
		var reply Segment
		act, why := p.rec.Input(now, p.h.c.cfg, p.budget, st.seg, &reply)
		switch act {
		case TimeWaitDrop:
			if why != ReasonNone {
				o.Drops = append(o.Drops, why)
			}
		case TimeWaitReply:
			o.Drops = append(o.Drops, why)
			o.Sent = append(o.Sent, fmtSentFull(&reply, why))
		case TimeWaitChallenge:
			o.Sent = append(o.Sent, fmtSentFull(&reply, why))
		case TimeWaitClosed, TimeWaitReopen:
			end(why)
		}
	}
	if p.recLive {
		o.Ends = p.rec.Expires()
	}
	return o
}

// twGenerator makes the steps, around the record's sequence numbers.
type twGenerator struct {
	rng   *rand.Rand
	flags int // the next control bits: every combination in turn
}

func (g *twGenerator) step(rec *TimeWaitRecord, msl time.Duration) twStep {
	if g.rng.IntN(5) == 0 {
		afters := []time.Duration{0, time.Millisecond, 250 * time.Millisecond, 499 * time.Millisecond,
			500 * time.Millisecond, 501 * time.Millisecond, 5 * time.Second, 2*msl - time.Millisecond, 2 * msl}
		return twStep{after: afters[g.rng.IntN(len(afters))]}
	}
	flags := Flags(g.flags % 64) // FIN SYN RST PSH ACK URG
	g.flags++
	payloads := []string{"", "x", strings.Repeat("p", 100)}
	payload := payloads[g.rng.IntN(len(payloads))]
	wnd := uint32(rec.window) << rec.shift
	maxWnd := uint32(0xffff) << rec.shift
	s := seg(flags, 0, 0, payload)
	if payload == "" {
		s.Payload = nil
	}
	seqs := []Seq{rec.rcvNxt, rec.rcvNxt - 1, rec.rcvNxt + 1, rec.rcvNxt.Add(wnd - 1), rec.rcvNxt.Add(wnd),
		rec.rcvNxt.Add(wnd + 1), rec.rcvNxt.Add(-maxWnd), rec.rcvNxt.Add(-maxWnd - 1), rec.rcvNxt - 100, rec.rcvNxt + 1<<31}
	s.Seq = seqs[g.rng.IntN(len(seqs))]
	if g.rng.IntN(4) == 0 {
		s.Seq = rec.rcvNxt.Add(-s.Len()) // ends at RCV.NXT: a retransmission of the FIN, or of data before it
	}
	acks := []Seq{rec.sndNxt, rec.sndNxt + 1, rec.sndNxt - 1, rec.sndNxt.Add(-rec.maxSndWnd),
		rec.sndNxt.Add(-rec.maxSndWnd - 1), rec.sndNxt + 1000}
	s.Ack = acks[g.rng.IntN(len(acks))]
	switch g.rng.IntN(6) {
	case 0: // none
	case 1:
		s.Options.HasTimestamps, s.Options.TSVal = true, rec.tsRecent
	case 2:
		s.Options.HasTimestamps, s.Options.TSVal = true, rec.tsRecent+1
	case 3:
		s.Options.HasTimestamps, s.Options.TSVal = true, rec.tsRecent-1 // PAWS
	case 4:
		s.Options.HasTimestamps, s.Options.TSVal = true, rec.tsRecent+1<<30
	case 5:
		s.Options.HasTimestamps, s.Options.TSVal = true, rec.tsRecent-1<<30
	}
	return twStep{seg: &s}
}

// twReasons are the decisions of TIME-WAIT that the sequences must reach,
// so that the comparison covers every rule.
var twReasons = []Reason{
	ReasonTimeWaitReopen, ReasonRSTClose, ReasonTimeWaitRST, ReasonRSTOutsideWindow,
	ReasonRSTInWindowChallenge, ReasonSYNChallenge, ReasonNoACK, ReasonACKOfUnsent, ReasonACKOld,
	ReasonPAWS, ReasonNoTimestamp, ReasonFinRetransmitted, ReasonUnacceptable, ReasonKeepAliveProbe,
	ReasonTextAfterFIN, ReasonInvalidRateLimited, ReasonChallengeACKLimit, ReasonTimeWaitExpired,
}

func TestTimeWaitConnAndRecordAnswerAlike(t *testing.T) {
	const sequences, steps = 300, 10
	seen := map[Reason]bool{}
	defer func() {
		for _, r := range twReasons {
			if !seen[r] {
				t.Errorf("no sequence reached %s (%s): the comparison does not cover it", r, r.Text())
			}
		}
	}()
	for _, su := range twSetups {
		t.Run(su.name, func(t *testing.T) {
			g := &twGenerator{rng: rand.New(rand.NewPCG(1, uint64(len(su.name))))}
			for n := range sequences {
				p := newTWPair(t, su)
				var played []string
				for range steps {
					st := g.step(&p.rec, p.h.c.cfg.MSL)
					played = append(played, st.String())
					conn := p.conn(st)
					rec := p.record(st, p.h.now)
					for _, r := range rec.Drops {
						seen[r] = true
					}
					for _, e := range rec.States {
						seen[e.why] = true
					}
					for _, out := range rec.Sent {
						for _, r := range twReasons {
							seen[r] = seen[r] || strings.HasSuffix(out, "("+r.String()+")")
						}
					}
					if !reflect.DeepEqual(conn, rec) {
						t.Fatalf("sequence %d: the Conn and its record differ after\n  %s\nconn:   %v\nrecord: %v",
							n, strings.Join(played, "\n  "), conn, rec)
					}
					if !p.recLive {
						break
					}
				}
			}
		})
	}
}
