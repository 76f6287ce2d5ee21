package stack

import (
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// Capturer sees every packet that crosses the link, in both directions,
// malformed ones included, with what the stack made of it: the pcapng
// writer of stack/pcap is one. CapturePacket runs on the event loop, so it
// must copy what it keeps and return at once; p is valid only during the
// call.
type Capturer interface {
	CapturePacket(p *CapturedPacket)
}

// CapturedPacket is one IP packet as it crossed the link.
type CapturedPacket struct {
	Time     time.Time
	Outbound bool   // written by the stack; false if read from the link
	Data     []byte // the IP packet, without the link's headroom
	// Sent is why the engine sent an outbound TCP segment
	// (tcp.ReasonClosedRST for the stack's RST to a closed port);
	// tcp.ReasonNone for other packets.
	Sent tcp.Reason
	// SentDetail is why the stack sent a segment it made on its own, or
	// changed or delayed one, for an application's or a fault's decision
	// ("forward:refused", "fault:refuse"); "" for the others.
	SentDetail string
	// Dropped says that the stack discarded an inbound packet or its
	// segment: DropReason is the engine's reason, or ReasonNone when
	// the stack dropped it before any connection and DropDetail says why
	// ("tcp-bad-checksum", "no-listener", ...).
	Dropped    bool
	DropReason tcp.Reason
	DropDetail string
}

// Comment says in one line why the stack dropped or sent the packet, ""
// when there is nothing to say: "drop: tcp-bad-checksum",
// "drop: rst-outside-window: RST outside the window: drop
// [rfc9293:3.10.7.4/rst]", "sent: rtx-syn: retransmission timer expired:
// resend SYN, back off [rfc6298:5]".
func (p *CapturedPacket) Comment() string {
	switch {
	case p.Dropped && p.DropReason != tcp.ReasonNone:
		return reasonComment("drop: ", dropComments, p.DropReason)
	case p.Dropped:
		return "drop: " + p.DropDetail
	case p.Sent != tcp.ReasonNone && p.SentDetail != "":
		return reasonComment("sent: ", sentComments, p.Sent) + " (" + p.SentDetail + ")"
	case p.SentDetail != "":
		return "sent: " + p.SentDetail
	case p.Sent != tcp.ReasonNone:
		return reasonComment("sent: ", sentComments, p.Sent)
	}
	return ""
}

// The comments for every reason, made once: a capture writes one per
// packet the stack sends.
var sentComments, dropComments = func() (sent, drop []string) {
	for why := range tcp.Reason(reasonCount) {
		sent = append(sent, "sent: "+describeReason(why))
		drop = append(drop, "drop: "+describeReason(why))
	}
	return sent, drop
}()

func reasonComment(prefix string, made []string, why tcp.Reason) string {
	if int(why) < len(made) {
		return made[why]
	}
	return prefix + describeReason(why)
}

func describeReason(r tcp.Reason) string {
	s := r.Code()
	if text := r.Text(); text != "" {
		s += ": " + text
	}
	if rule := r.Rule(); rule != "" {
		s += " [" + rule + "]"
	}
	return s
}

// capture is the loop's side of Options.Capture: it remembers what
// happened to the inbound packet being handled and why each packet of the
// output batch was sent. It is loop-owned; with no Capturer every method
// returns at once.
type capture struct {
	to      Capturer
	pkt     CapturedPacket // reused for every call
	noted   bool           // a drop was noted for the current inbound packet
	reason  tcp.Reason
	detail  string
	reasons []tcp.Reason // why packet i of the output batch was sent
	details []string     // SentDetail of packet i; nil while none has one
}

// inputPacket handles one packet read from the link and shows it to the
// Capturer with the first drop noted while handling it.
func (s *Stack) inputPacket(b []byte) {
	c := &s.capture
	if c.to == nil {
		s.input(b)
		return
	}
	c.noted, c.reason, c.detail = false, tcp.ReasonNone, ""
	s.input(b)
	c.pkt = CapturedPacket{Time: s.now, Data: b, Dropped: c.noted, DropReason: c.reason, DropDetail: c.detail}
	c.to.CapturePacket(&c.pkt)
	c.pkt.Data = nil
	c.noted = false
}

// noteDrop records that the stack dropped the inbound packet being handled
// before any connection saw it.
func (c *capture) noteDrop(detail string) {
	if c.to != nil && !c.noted {
		c.noted, c.detail = true, detail
	}
}

// noteEngineDrop records that the engine discarded the segment of the
// inbound packet being handled. Drops outside input (none today) are
// forgotten before the next packet.
func (c *capture) noteEngineDrop(why tcp.Reason) {
	if c.to != nil && !c.noted {
		c.noted, c.reason = true, why
	}
}

// noteSent records why packet i of the output batch was sent.
func (c *capture) noteSent(i int, why tcp.Reason) {
	if c.to == nil {
		return
	}
	if i >= len(c.reasons) {
		c.reasons = append(c.reasons, make([]tcp.Reason, i+1-len(c.reasons))...)
	}
	c.reasons[i] = why
}

// noteSentDetail records the SentDetail of packet i of the output batch.
func (c *capture) noteSentDetail(i int, detail string) {
	if c.to == nil {
		return
	}
	if i >= len(c.details) {
		c.details = append(c.details, make([]string, i+1-len(c.details))...)
	}
	c.details[i] = detail
}

// captureOutput shows the packets about to be written to the Capturer. It
// runs before link.Write, which may coalesce the packets in place.
func (s *Stack) captureOutput(pkts [][]byte) {
	c := &s.capture
	if c.to == nil {
		return
	}
	for i, b := range pkts {
		var why tcp.Reason
		if i < len(c.reasons) {
			why = c.reasons[i]
		}
		var detail string
		if i < len(c.details) {
			detail = c.details[i]
		}
		c.pkt = CapturedPacket{Time: s.now, Outbound: true, Data: b[Headroom:], Sent: why, SentDetail: detail}
		c.to.CapturePacket(&c.pkt)
	}
	c.pkt.Data = nil
	clear(c.reasons)
	clear(c.details)
}
