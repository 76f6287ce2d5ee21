package stack

import (
	"fmt"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// Every listener has two queues, bounded apart, as a Linux listening
// socket does: the half-open (SYN) queue of connections in SYN-RECEIVED,
// and the accept queue of connections established and waiting for Accept.
// A SYN flood from spoofed sources fills the first and never the second,
// so once the half-open queue is full a SYN is answered with a SYN cookie
// (RFC 4987 §3.6, tcp.SynCookieSYNACK) and leaves no state: a peer that
// completes the handshake is let in when its ACK validates, one that never
// answers (a spoofed source) cost a SYN-ACK. Only a full accept queue, an
// application that does not keep up, drops connections; Linux counts those
// as ListenOverflows.

// SynCookieMode says when a listener answers a SYN with a SYN cookie
// instead of keeping a half-open connection, as Linux's tcp_syncookies.
type SynCookieMode uint8

// SYN cookie modes.
const (
	// SynCookiesAuto sends cookies once the half-open queue is full
	// (tcp_syncookies=1, the default): a half-open connection offers
	// everything the peer's SYN asked for, a cookie connection may lose
	// window scaling and SACK (tcp.SynCookieSYNACK).
	SynCookiesAuto SynCookieMode = iota
	// SynCookiesAlways answers every SYN with a cookie (tcp_syncookies=2).
	SynCookiesAlways
	// SynCookiesNever drops a SYN that finds the half-open queue full
	// (tcp_syncookies=0).
	SynCookiesNever
)

var synCookieModeNames = [...]string{SynCookiesAuto: "auto", SynCookiesAlways: "always", SynCookiesNever: "never"}

func (m SynCookieMode) String() string {
	if int(m) < len(synCookieModeNames) {
		return synCookieModeNames[m]
	}
	return fmt.Sprintf("SynCookieMode(%d)", m)
}

// ParseSynCookieMode parses "auto", "always" or "never".
func ParseSynCookieMode(s string) (SynCookieMode, error) {
	for m, name := range synCookieModeNames {
		if s == name {
			return SynCookieMode(m), nil
		}
	}
	return 0, fmt.Errorf("SYN cookie mode %q: want auto, always or never", s)
}

// Defaults of the listen queues. The accept queue's is Linux's somaxconn,
// which Go's net.Listen passes as the backlog. The half-open queue's is
// tcp_max_syn_backlog on a small Linux host: enough for a burst of honest
// SYNs within one round trip, while a flood that fills it holds at most
// that many half-open connections (about a kilobyte each, and five SYN-ACK
// retransmissions over a minute) before every further SYN gets a cookie.
const (
	DefaultBacklog    = 4096
	DefaultSynBacklog = 1024
)

// cookieValidity is how long after a listener last sent a cookie an ACK
// for it may still come back: two periods of the cookie counter (see
// tcp.SynCookieSYNACK). Until then an ACK that finds no connection is
// checked as a cookie.
const cookieValidity = 128 * time.Second

// Drop reasons of the listen queues.
const (
	dropSynQueueFull    = "syn-queue-full"
	dropAcceptQueueFull = "accept-queue-full"
)

// listenOptions applies Options' queue bounds and cookie mode.
func (s *Stack) listenOptions(opts *Options) error {
	s.backlog, s.synBacklog, s.synCookies = opts.Backlog, opts.SynBacklog, opts.SynCookies
	if s.backlog <= 0 {
		s.backlog = DefaultBacklog
	}
	if s.synBacklog <= 0 {
		s.synBacklog = DefaultSynBacklog
	}
	if s.synCookies > SynCookiesNever {
		return fmt.Errorf("stack: unknown %v", s.synCookies)
	}
	return nil
}

// listenQueues decides a segment for a listener that no connection
// claimed before a connection is made for it: a SYN when a queue is full,
// and an ACK that may carry a SYN cookie. It reports whether it took the
// segment (answered or dropped it); if not, passiveOpen goes on as for any
// listener.
func (s *Stack) listenQueues(ln *Listener, id tcp.ID, seg *tcp.Segment) bool {
	switch {
	case seg.Flags&(tcp.FlagSYN|tcp.FlagACK|tcp.FlagRST) == tcp.FlagSYN:
		if ln.acceptQueueFull() {
			s.counters.acceptQueueOverflows.Add(1)
			s.dropSegment(id, seg, dropAcceptQueueFull)
			return true
		}
		synFull := ln.halfOpen >= ln.synBacklog
		if synFull {
			s.counters.synQueueOverflows.Add(1)
		}
		switch {
		case s.synCookies == SynCookiesAlways, synFull && s.synCookies == SynCookiesAuto:
			s.sendSynCookie(ln, id, seg)
			return true
		case synFull:
			s.dropSegment(id, seg, dropSynQueueFull)
			return true
		}
	case tcp.IsSynCookieACK(seg) && s.cookiesInUse(ln):
		if ln.acceptQueueFull() {
			// The peer sends its ACK or data again; the cookie may then
			// still be good.
			s.counters.acceptQueueOverflows.Add(1)
			s.dropSegment(id, seg, dropAcceptQueueFull)
			return true
		}
		s.openFromSynCookie(ln, id, seg)
		return true
	}
	return false
}

// cookiesInUse reports whether an ACK to ln may answer one of its cookies.
// Other ACKs get the RST of RFC 9293 §3.10.7.2 without being counted as
// rejected cookies.
func (s *Stack) cookiesInUse(ln *Listener) bool {
	return s.synCookies == SynCookiesAlways ||
		!ln.cookieSentAt.IsZero() && s.now.Sub(ln.cookieSentAt) < cookieValidity
}

// sendSynCookie answers a SYN with a cookie SYN-ACK and keeps nothing.
func (s *Stack) sendSynCookie(ln *Listener, id tcp.ID, syn *tcp.Segment) {
	ln.cookieSentAt = s.now
	synack := tcp.SynCookieSYNACK(s.now, s.configFor(id), id, syn)
	if !s.sendTCP(id.Local.Addr(), id.Remote.Addr(), &synack, tcp.ReasonSynCookieSent) {
		return
	}
	s.out.flood++
	if s.events.wants(EventSegmentOut) {
		s.events.publish(segmentEvent(s.now, EventSegmentOut, id, nil, tcp.Listen, &synack, tcp.ReasonSynCookieSent))
	}
}

// openFromSynCookie makes a connection from an ACK whose cookie validates
// and hands it to the accept queue; the engine answers one that does not
// with a RST (tcp.ReasonSynCookieRejected).
func (s *Stack) openFromSynCookie(ln *Listener, id tcp.ID, seg *tcp.Segment) {
	// The connection limits hold for a cookie's connection as for a SYN's
	// (connlimits.go); the peer sends its ACK again with its data.
	if !s.admit(id, seg) {
		return
	}
	c := s.newConn(id)
	c.listener = ln
	if err := c.engine.OpenPassive(s.now); err != nil {
		s.log.Error("passive open", "conn", id, "err", err)
		s.releaseConn(c)
		return
	}
	if !c.engine.InputSynCookie(s.now, seg) {
		s.releaseConn(c)
		return
	}
	s.counters.synCookiesValidated.Add(1)
	s.register(c)
	ln.halfOpen++ // service moves it to the accept queue at once
	s.service(c)
}
