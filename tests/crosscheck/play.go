package crosscheck

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// ErrMismatch is wrapped by every failed expectation.
var ErrMismatch = errors.New("mismatch")

// ErrIllegalTransition is wrapped when an engine changed state in a way
// RFC 9293's Figure 5 and its text do not allow (tcp.CheckTransition),
// whatever the script expected.
var ErrIllegalTransition = errors.New("a state change off RFC 9293 Figure 5")

// figure5Checker is an engine that watches its own state changes.
type figure5Checker interface {
	IllegalTransition() error
}

// defaultPeerWindow is the window of a scripted segment without win=.
const defaultPeerWindow = 65535

// player plays one scenario against one engine. It owns the translation
// between the script's relative numbers and the wire's absolute ones: the
// peer's numbers are relative to Config.PeerISN, the stack's to the ISS it
// chose, learned from every SYN it sends (until then, numbers in the
// stack's space are absolute).
type player struct {
	sc      *Scenario
	e       Engine
	iss     tcp.Seq
	issSet  bool
	pending []Sent // sent by the engine, not yet matched by an out line
	// lastTSVal is the TSval of the latest segment the stack sent with
	// timestamps: what ts=VAL:last echoes.
	lastTSVal uint32
	elapsed   time.Duration
	log       []string // transcript, for failure messages
}

// Play runs the scenario on the engine and returns the first mismatch (or
// engine error) with a transcript of what happened up to it. gvisor selects
// the gvisor: replacement lines.
func Play(sc *Scenario, e Engine, gvisor bool) error {
	p := &player{sc: sc, e: e}
	for i := range sc.Steps {
		steps := []Step{sc.Steps[i]}
		if gvisor && sc.Steps[i].GVisor != nil {
			steps = sc.Steps[i].GVisor
		}
		for j := range steps {
			err := p.step(&steps[j])
			if c, ok := e.(figure5Checker); ok && err == nil && c.IllegalTransition() != nil {
				err = fmt.Errorf("%w: %v", ErrIllegalTransition, c.IllegalTransition())
			}
			if err != nil {
				return fmt.Errorf("line %d: %s\n%w\ntranscript (seq and ack relative; t since start):\n%s",
					steps[j].Line, steps[j].Text, err, p.transcript())
			}
		}
	}
	p.drain()
	if len(p.pending) > 0 {
		return fmt.Errorf("end of script: %w: the stack sent %s and no out line expects it\ntranscript:\n%s",
			ErrMismatch, p.fmtOut(&p.pending[0].Segment), p.transcript())
	}
	return nil
}

func (p *player) transcript() string {
	const keep = 40
	l := p.log
	if len(l) > keep {
		l = l[len(l)-keep:]
	}
	return "  " + strings.Join(l, "\n  ")
}

func (p *player) note(format string, args ...any) {
	p.log = append(p.log, fmt.Sprintf("t=%-8v ", p.elapsed)+fmt.Sprintf(format, args...))
}

// drain moves what the engine sent into pending, learning the ISS from
// each SYN.
func (p *player) drain() {
	for _, s := range p.e.Sent() {
		if s.Flags.Has(tcp.FlagSYN) {
			p.iss, p.issSet = s.Seq, true
		}
		if s.Options.HasTimestamps {
			p.lastTSVal = s.Options.TSVal
		}
		p.pending = append(p.pending, s)
		if s.Why != "" {
			p.note("stack sent %s  [%s]", p.fmtOut(&s.Segment), s.Why)
		} else {
			p.note("stack sent %s", p.fmtOut(&s.Segment))
		}
	}
}

// requireQuiet fails if the stack sent something no out line has matched:
// every segment must be expected before the script moves on.
func (p *player) requireQuiet() error {
	p.drain()
	if len(p.pending) > 0 {
		return fmt.Errorf("%w: unexpected segment %s (every segment the stack sends needs an out line)", ErrMismatch, p.fmtOut(&p.pending[0].Segment))
	}
	return nil
}

func (p *player) step(st *Step) error {
	switch st.Kind {
	case StepIn:
		if err := p.requireQuiet(); err != nil {
			return err
		}
		seg := p.build(&st.Seg)
		p.note("peer sent %s", strings.TrimSpace(strings.TrimPrefix(st.Text, "in")))
		p.e.Input(&seg)
	case StepOut:
		p.drain()
		if len(p.pending) == 0 {
			return fmt.Errorf("%w: the stack sent nothing", ErrMismatch)
		}
		got := p.pending[0]
		p.pending = p.pending[1:]
		if err := p.match(&got.Segment, &st.Seg); err != nil {
			return err
		}
	case StepNothing:
		p.drain()
		if len(p.pending) > 0 {
			return fmt.Errorf("%w: the stack sent %s", ErrMismatch, p.fmtOut(&p.pending[0].Segment))
		}
	case StepState:
		if got := p.e.State(); got != st.State {
			return fmt.Errorf("%w: state %s, want %s", ErrMismatch, got, st.State)
		}
	case StepError:
		if got := errName(p.e.Err()); got != st.Err {
			return fmt.Errorf("%w: connection error %s, want %s", ErrMismatch, got, st.Err)
		}
	case StepAfter:
		if err := p.requireQuiet(); err != nil {
			return err
		}
		p.e.Advance(st.Duration)
		p.elapsed += st.Duration
		p.note("%v later", st.Duration)
	case StepUser:
		if err := p.requireQuiet(); err != nil {
			return err
		}
		p.note("user %s", strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(st.Text, "gvisor: "), "user")))
		return p.call(st)
	}
	return nil
}

func (p *player) call(st *Step) error {
	var err error
	switch st.Call {
	case CallOpenPassive:
		err = p.e.OpenPassive()
	case CallOpenActive:
		err = p.e.OpenActive()
	case CallSend:
		err = p.e.Send(st.Data.Materialize())
	case CallShutdown:
		err = p.e.Shutdown()
	case CallClose:
		err = p.e.Close()
	case CallAbort:
		err = p.e.Abort()
	case CallRead:
		data, eof, rerr := p.e.Read()
		p.note("user read %d bytes, eof=%v, err=%v", len(data), eof, rerr)
		if st.Fails {
			err = rerr
			break
		}
		switch st.Read {
		case ReadData:
			want := st.Data.Materialize()
			if !bytes.Equal(data, want) {
				return fmt.Errorf("%w: read %q, want %q", ErrMismatch, clip(data), clip(want))
			}
		case ReadNothing:
			if len(data) > 0 || eof {
				return fmt.Errorf("%w: read %q (eof %v), want nothing", ErrMismatch, clip(data), eof)
			}
		case ReadEOF:
			if len(data) > 0 || !eof {
				return fmt.Errorf("%w: read %q (eof %v, err %v), want end of file", ErrMismatch, clip(data), eof, rerr)
			}
		}
		return nil
	}
	switch {
	case st.Fails && err == nil:
		return fmt.Errorf("%w: the call succeeded, want it to fail", ErrMismatch)
	case !st.Fails && err != nil:
		return fmt.Errorf("user call failed: %w", err)
	}
	return nil
}

func clip(b []byte) []byte {
	if len(b) > 40 {
		return append(b[:40:40], "..."...)
	}
	return b
}

// build turns a scripted segment from the peer into an absolute one.
func (p *player) build(spec *SegSpec) tcp.Segment {
	local, peer := Endpoints(p.sc.Active)
	seg := tcp.Segment{
		SrcPort: peer.Port(),
		DstPort: local.Port(),
		Flags:   spec.Flags,
		Seq:     p.peerNumber(spec.Seq),
		Window:  defaultPeerWindow,
		Payload: spec.Data.Materialize(),
	}
	if spec.Ack.Set {
		seg.Ack = p.stackNumber(spec.Ack)
	}
	if spec.Win >= 0 {
		seg.Window = uint16(spec.Win)
	}
	if spec.MSS >= 0 {
		seg.Options.MSS = uint16(spec.MSS)
	}
	if spec.WS >= 0 {
		seg.Options.WindowScale, seg.Options.HasWindowScale = uint8(spec.WS), true
	}
	seg.Options.SACKPermitted = spec.SACKOK == Present
	for i, b := range spec.SACK {
		// The blocks acknowledge the stack's data: its sequence space.
		seg.Options.SACK[i] = tcp.SACKBlock{Left: p.stackNumber(b.Left), Right: p.stackNumber(b.Right)}
	}
	seg.Options.NumSACK = uint8(len(spec.SACK))
	if ts := spec.TS; ts != nil {
		seg.Options.HasTimestamps = true
		seg.Options.TSVal = ts.Val.V
		seg.Options.TSEcr = ts.Ecr.V
		if ts.Ecr.Kind == TSLast {
			seg.Options.TSEcr = p.lastTSVal
		}
	}
	return seg
}

func (p *player) peerNumber(n Number) tcp.Seq {
	if n.Abs {
		return tcp.Seq(uint32(n.V))
	}
	return tcp.Seq(p.sc.Config.PeerISN).Add(uint32(n.V))
}

func (p *player) stackNumber(n Number) tcp.Seq {
	if n.Abs || !p.issSet {
		return tcp.Seq(uint32(n.V))
	}
	return p.iss.Add(uint32(n.V))
}

// match compares a segment the stack sent with an out line: the flags
// (PSH only if the line writes it: RFC 9293 §3.9.1 leaves it to the
// sender), the payload (none unless the line writes len= or data=), and
// seq, ack, win, mss, ws and the other options where written.
func (p *player) match(got *tcp.Segment, want *SegSpec) error {
	mask := ^tcp.Flags(tcp.FlagPSH | tcp.FlagECE | tcp.FlagCWR)
	if want.Flags.Has(tcp.FlagPSH) {
		mask |= tcp.FlagPSH
	}
	var diffs []string
	if got.Flags&mask != want.Flags&mask {
		diffs = append(diffs, fmt.Sprintf("flags %s, want %s", fmtFlags(got.Flags), fmtFlags(want.Flags)))
	}
	if want.Seq.Set && got.Seq != p.stackNumber(want.Seq) {
		diffs = append(diffs, fmt.Sprintf("seq %s, want %s", p.relStack(got.Seq), fmtNumber(want.Seq)))
	}
	if want.Ack.Set && got.Ack != p.peerNumber(want.Ack) {
		diffs = append(diffs, fmt.Sprintf("ack %s, want %s", p.relPeer(got.Ack), fmtNumber(want.Ack)))
	}
	if want.Win >= 0 && int(got.Window) != want.Win {
		diffs = append(diffs, fmt.Sprintf("win %d, want %d", got.Window, want.Win))
	}
	if want.MSS >= 0 && int(got.Options.MSS) != want.MSS {
		diffs = append(diffs, fmt.Sprintf("mss %d, want %d", got.Options.MSS, want.MSS))
	}
	if want.WS >= 0 && (!got.Options.HasWindowScale || int(got.Options.WindowScale) != want.WS) {
		diffs = append(diffs, fmt.Sprintf("ws %d (present %v), want %d", got.Options.WindowScale, got.Options.HasWindowScale, want.WS))
	}
	diffs = append(diffs, p.matchOptions(&got.Options, want)...)
	switch {
	case want.Data.Bytes != nil && !bytes.Equal(got.Payload, want.Data.Bytes):
		diffs = append(diffs, fmt.Sprintf("data %q, want %q", clip(got.Payload), clip(want.Data.Bytes)))
	case len(got.Payload) != want.Data.Len:
		diffs = append(diffs, fmt.Sprintf("len %d, want %d", len(got.Payload), want.Data.Len))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%w: the stack sent %s: %s", ErrMismatch, p.fmtOut(got), strings.Join(diffs, "; "))
	}
	return nil
}

// matchOptions compares the options an out line writes: SACK-permitted,
// the absence of window scaling, SACK blocks (in the peer's space, in
// order) and timestamps.
func (p *player) matchOptions(got *tcp.Options, want *SegSpec) []string {
	var diffs []string
	if want.SACKOK != Unwritten && got.SACKPermitted != (want.SACKOK == Present) {
		diffs = append(diffs, fmt.Sprintf("SACK-permitted %v, want %v", got.SACKPermitted, want.SACKOK == Present))
	}
	if want.NoWS && got.HasWindowScale {
		diffs = append(diffs, fmt.Sprintf("ws=%d, want no window scale option", got.WindowScale))
	}
	if want.NoSACK && got.NumSACK > 0 {
		diffs = append(diffs, fmt.Sprintf("%s, want no SACK blocks", p.fmtSACK(got)))
	}
	if want.SACK != nil {
		same := int(got.NumSACK) == len(want.SACK)
		for i := 0; same && i < len(want.SACK); i++ {
			same = got.SACK[i].Left == p.peerNumber(want.SACK[i].Left) && got.SACK[i].Right == p.peerNumber(want.SACK[i].Right)
		}
		if !same {
			var w []string
			for _, b := range want.SACK {
				w = append(w, fmtNumber(b.Left)+"-"+fmtNumber(b.Right))
			}
			have := p.fmtSACK(got)
			if have == "" {
				have = "no SACK blocks"
			}
			diffs = append(diffs, fmt.Sprintf("%s, want sack=%s", have, strings.Join(w, ",")))
		}
	}
	if want.NoTS && got.HasTimestamps {
		diffs = append(diffs, fmt.Sprintf("ts=%d:%d, want no timestamps", got.TSVal, got.TSEcr))
	}
	if ts := want.TS; ts != nil {
		switch {
		case !got.HasTimestamps:
			diffs = append(diffs, "no timestamps, want ts="+fmtTS(ts))
		case ts.Val.Kind == TSNumber && got.TSVal != ts.Val.V, ts.Ecr.Kind == TSNumber && got.TSEcr != ts.Ecr.V:
			diffs = append(diffs, fmt.Sprintf("ts=%d:%d, want ts=%s", got.TSVal, got.TSEcr, fmtTS(ts)))
		}
	}
	return diffs
}

func fmtTS(ts *Timestamps) string {
	f := func(v TSValue) string {
		switch v.Kind {
		case TSAny:
			return "*"
		case TSLast:
			return "last"
		}
		return fmt.Sprint(v.V)
	}
	return f(ts.Val) + ":" + f(ts.Ecr)
}

// fmtSACK writes the SACK blocks of a segment the stack sent (the peer's
// space) as an out line would, or "" if there are none.
func (p *player) fmtSACK(o *tcp.Options) string {
	if o.NumSACK == 0 {
		return ""
	}
	var blocks []string
	for _, b := range o.SACK[:o.NumSACK] {
		blocks = append(blocks, p.relPeer(b.Left)+"-"+p.relPeer(b.Right))
	}
	return "sack=" + strings.Join(blocks, ",")
}

func fmtNumber(n Number) string {
	if n.Abs {
		return fmt.Sprintf("abs:%d", uint32(n.V))
	}
	return fmt.Sprint(n.V)
}

// relStack writes a number of the stack's sequence space as a script would.
func (p *player) relStack(s tcp.Seq) string {
	if !p.issSet {
		return fmt.Sprintf("abs:%d", uint32(s))
	}
	return fmt.Sprint(int32(s - p.iss))
}

// relPeer writes a number of the peer's sequence space as a script would.
func (p *player) relPeer(s tcp.Seq) string {
	return fmt.Sprint(int32(s - tcp.Seq(p.sc.Config.PeerISN)))
}

// fmtOut writes a segment the stack sent the way an out line would.
func (p *player) fmtOut(s *tcp.Segment) string {
	var b strings.Builder
	b.WriteString(fmtFlags(s.Flags &^ tcp.FlagPSH))
	fmt.Fprintf(&b, " seq=%s", p.relStack(s.Seq))
	if s.Flags.Has(tcp.FlagACK) {
		fmt.Fprintf(&b, " ack=%s", p.relPeer(s.Ack))
	}
	fmt.Fprintf(&b, " win=%d", s.Window)
	if s.Options.MSS != 0 {
		fmt.Fprintf(&b, " mss=%d", s.Options.MSS)
	}
	if s.Options.HasWindowScale {
		fmt.Fprintf(&b, " ws=%d", s.Options.WindowScale)
	}
	if s.Options.SACKPermitted {
		b.WriteString(" sackok")
	}
	if sack := p.fmtSACK(&s.Options); sack != "" {
		b.WriteString(" " + sack)
	}
	if s.Options.HasTimestamps {
		fmt.Fprintf(&b, " ts=%d:%d", s.Options.TSVal, s.Options.TSEcr)
	}
	if len(s.Payload) > 0 {
		fmt.Fprintf(&b, " len=%d", len(s.Payload))
	}
	if s.Flags.Has(tcp.FlagPSH) {
		b.WriteString(" (PSH)")
	}
	return b.String()
}

// fmtFlags writes control bits the way scripts do: SYN-ACK, FIN-ACK, none.
func fmtFlags(f tcp.Flags) string {
	var names []string
	for _, n := range []struct {
		f    tcp.Flags
		name string
	}{{tcp.FlagSYN, "SYN"}, {tcp.FlagFIN, "FIN"}, {tcp.FlagRST, "RST"}, {tcp.FlagPSH, "PSH"}, {tcp.FlagURG, "URG"}, {tcp.FlagACK, "ACK"}} {
		if f.Has(n.f) {
			names = append(names, n.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "-")
}
