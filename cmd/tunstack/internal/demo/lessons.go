package demo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

const (
	echoText      = "hello from the kernel's side\n"
	stackText     = "hello from the stack\n"
	kernelText    = "hello from the kernel\n"
	listenPort    = 5000 // the stack's own listener in simultaneous-close
	closedPortNum = 1    // no kernel socket listens there
)

// kernelClosesFirst: nc connects to the echo service, sends a line and
// shuts down its sending side (-N); the echo service sends the line back
// and closes once it has read the kernel's FIN.
func kernelClosesFirst(s *session) (outcome, error) {
	args := []string{"nc", "-N", "-w", "5", s.setup.StackIP.String(), "7"}
	out := outcome{lines: []string{
		"ip netns exec " + s.setup.NetNS + " " + strings.Join(args, " "),
		"(nc sends a line and shuts down its side; the echo service answers and closes when it reads nc's FIN)",
	}}
	got, err := runInNamespace(s.ctx, s.setup.NetNS, echoText, args...)
	out.lines = append(out.lines, fmt.Sprintf("sent %q, received %q", echoText, got))
	if err == nil && got != echoText {
		err = errors.New("echo returned something else")
	}
	return out, err
}

// stackClosesFirst: the stack dials a listener of the kernel's, as
// `tunstack dial` does, sends a line and closes; the kernel closes once
// the stack is in FIN-WAIT-2, and the stack waits out 2MSL in TIME-WAIT.
func stackClosesFirst(s *session) (outcome, error) {
	ln, err := s.kernelListen()
	if err != nil {
		return outcome{}, err
	}
	defer ln.Close()
	target := addrPort(ln.Addr())
	out := outcome{lines: []string{
		fmt.Sprintf("tunstack dials %s, a listener of the kernel's, sends a line and closes first;", target),
		"the kernel closes once the stack is in FIN-WAIT-2",
	}}
	accepted := accept(ln)
	c, err := s.stack.DialContext(s.ctx, "tcp", target.String())
	if err != nil {
		return out, fmt.Errorf("dial %s: %w", target, err)
	}
	defer c.Close()
	a := <-accepted
	if a.err != nil {
		return out, a.err
	}
	k := a.conn
	defer k.Close()
	k.SetDeadline(time.Now().Add(stepTimeout))
	id := tcp.ID{Local: addrPort(c.LocalAddr()), Remote: target}
	if _, err := io.WriteString(c, stackText); err != nil {
		return out, err
	}
	if line, err := bufio.NewReader(k).ReadString('\n'); err != nil || line != stackText {
		return out, fmt.Errorf("the kernel read %q, %v", line, err)
	}
	c.Close() // CLOSE: the stack's FIN
	if err := s.rec.waitState(s.ctx, same(id), finWait2); err != nil {
		return out, err
	}
	if err := k.CloseWrite(); err != nil { // the kernel's CLOSE: its FIN
		return out, err
	}
	if err := s.rec.waitState(s.ctx, same(id), timeWait); err != nil {
		return out, err
	}
	if info, ok := s.connection(target); ok && info.Status.State == timeWait {
		left := info.Status.TimeWaitAt.Sub(info.At)
		out.lines = append(out.lines, fmt.Sprintf("tunstack ss now: %s %s → %s, 2MSL timer %d ms left: the stack keeps the connection as a TIME-WAIT record",
			info.Status.State, id.Local, id.Remote, left.Milliseconds()))
	}
	// The kernel's socket stays open until the end (see kernelside.go).
	if err := s.rec.waitEnded(s.ctx, id); err != nil {
		return out, err
	}
	out.after = func() []string {
		if _, ok := s.connection(target); ok {
			return []string{"after 2MSL tunstack ss still lists the connection"}
		}
		return []string{fmt.Sprintf("after 2MSL = %v the record is gone: tunstack ss no longer lists %s → %s", 2*s.setup.MSL, id.Local, id.Remote)}
	}
	return out, nil
}

// simultaneousClose: the kernel connects to a listener of the stack's;
// then both close. The stack closes first, but the demo's link holds its
// FIN until the kernel has closed too and its FIN is on the way; the held
// FIN then reaches the kernel just before the stack reads the kernel's:
// each FIN finds the other side in FIN-WAIT-1.
func simultaneousClose(s *session) (outcome, error) {
	listenAt := netip.AddrPortFrom(s.setup.StackIP, listenPort)
	out := outcome{lines: []string{
		fmt.Sprintf("the kernel connects to %s, a listener of the stack's; then both close.", listenAt),
		"To make the FINs cross every time, the demo's link between the device and the stack holds",
		"the stack's FIN until the kernel's FIN has left the kernel, then delivers it to the kernel",
		"before the stack reads the kernel's FIN: each side gets the other's FIN in FIN-WAIT-1",
	}}
	ln, err := s.stack.Listen("tcp", listenAt.String())
	if err != nil {
		return out, err
	}
	defer ln.Close()
	k, err := s.kernelDial(s.ctx, listenAt)
	if err != nil {
		return out, err
	}
	defer k.Close()
	c, err := acceptStack(ln)
	if err != nil {
		return out, err
	}
	defer c.Close()
	id := tcp.ID{Local: addrPort(c.LocalAddr()), Remote: addrPort(c.RemoteAddr())}
	held := s.link.holdNextFIN(id)
	c.Close() // CLOSE: the stack's FIN, held
	select {
	case <-held:
	case <-time.After(stepTimeout):
		return out, errors.New("the stack's FIN did not come")
	case <-s.ctx.Done():
		return out, ErrInterrupted
	}
	if err := k.CloseWrite(); err != nil { // the kernel's CLOSE: its FIN
		return out, err
	}
	return out, s.rec.waitEnded(s.ctx, id)
}

// closedPort: the stack dials a port of the kernel's where nothing
// listens; the kernel answers the SYN with RST.
func closedPort(s *session) (outcome, error) {
	target := netip.AddrPortFrom(s.kernelAddr(), closedPortNum)
	out := outcome{lines: []string{fmt.Sprintf("tunstack dials %s, where no socket of the kernel's listens", target)}}
	c, err := s.stack.DialContext(s.ctx, "tcp", target.String())
	if err == nil {
		c.Close()
		return out, fmt.Errorf("dial %s: connected", target)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return out, fmt.Errorf("dial %s: %w, want connection refused", target, err)
	}
	out.lines = append(out.lines, fmt.Sprintf("dial %s: connection refused (ECONNREFUSED, as a kernel socket would say)", target))
	return out, nil
}

// verifyRefused checks that a RST ended the connection.
func verifyRefused(c connTrace) ([]string, error) {
	for _, e := range c.Events {
		if e.Kind == stack.EventStateChange && e.Reason == tcp.ReasonSynSentRefused && e.Seg.Flags.Has(tcp.FlagRST) {
			return nil, nil
		}
	}
	return nil, errors.New("no RST refused the connection")
}

// retransmission: the stack dials a listener of the kernel's, and the
// demo's link loses its first SYN. The kernel then sends a line and
// closes first; the stack closes after it.
func retransmission(s *session) (outcome, error) {
	ln, err := s.kernelListen()
	if err != nil {
		return outcome{}, err
	}
	defer ln.Close()
	target := addrPort(ln.Addr())
	out := outcome{lines: []string{
		fmt.Sprintf("tunstack dials %s, a listener of the kernel's; the demo's link loses the first SYN.", target),
		"Nothing tells the stack: its retransmission timer, started when the SYN left, sends it again when the RTO expires",
	}}
	lost := s.link.loseNextSYN(target)
	accepted := accept(ln)
	type dialResult struct {
		c   net.Conn
		err error
	}
	dialed := make(chan dialResult, 1)
	go func() {
		c, err := s.stack.DialContext(s.ctx, "tcp", target.String())
		dialed <- dialResult{c, err}
	}()
	select {
	case <-lost:
	case <-time.After(stepTimeout):
		return out, errors.New("the stack's SYN did not come")
	}
	if info, ok := s.connection(target); ok && info.Status.State == synSent {
		out.lines = append(out.lines, fmt.Sprintf("tunstack ss now: SYN-SENT, RTO %v, the retransmission timer fires in %d ms (RFC 6298 §2.1: 1 s before any RTT is measured)",
			info.Status.RTO, info.Status.RetransmitAt.Sub(info.At).Milliseconds()))
	}
	d := <-dialed
	if d.err != nil {
		return out, fmt.Errorf("dial %s: %w", target, d.err)
	}
	c := d.c
	defer c.Close()
	a := <-accepted
	if a.err != nil {
		return out, a.err
	}
	k := a.conn
	defer k.Close()
	if _, err := io.WriteString(k, kernelText); err != nil {
		return out, err
	}
	if err := k.CloseWrite(); err != nil { // the kernel's CLOSE: its FIN
		return out, err
	}
	c.SetDeadline(time.Now().Add(stepTimeout))
	got, err := io.ReadAll(c) // until the kernel's FIN
	if err != nil || string(got) != kernelText {
		return out, fmt.Errorf("the stack read %q, %v", got, err)
	}
	if err := c.Close(); err != nil { // the stack's CLOSE, from CLOSE-WAIT
		return out, err
	}
	// The kernel's socket stays open until the end (see kernelside.go).
	return out, s.rec.waitEnded(s.ctx, tcp.ID{Local: addrPort(c.LocalAddr()), Remote: target})
}

// verifyRetransmission finds the SYN sent again by the timer and says how
// long after the first it went.
func verifyRetransmission(c connTrace) ([]string, error) {
	var first *stack.Event
	for i, e := range c.Events {
		if e.Kind != stack.EventSegmentOut || e.Seg.Flags != tcp.FlagSYN {
			continue
		}
		if first == nil {
			first = &c.Events[i]
			continue
		}
		if e.Reason != tcp.ReasonRetransmitSYN {
			return nil, fmt.Errorf("the second SYN was sent for %s, not by the retransmission timer", e.Reason.Code())
		}
		after := e.Time.Sub(first.Time)
		return []string{fmt.Sprintf("the SYN went again %.1f ms after the first: the RTO of 1 s had expired (RFC 6298 §5.4: retransmit; §5.5: the RTO doubles for the next)",
			float64(after)/float64(time.Millisecond))}, nil
	}
	return nil, errors.New("the stack did not send its SYN again")
}

// same selects the connection id.
func same(id tcp.ID) func(tcp.ID) bool { return func(x tcp.ID) bool { return x == id } }

// addrPort is a net.Addr of TCP as a netip.AddrPort.
func addrPort(a net.Addr) netip.AddrPort {
	ap, _ := netip.ParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// acceptStack waits for one connection on a listener of the stack's.
func acceptStack(ln net.Listener) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-time.After(stepTimeout):
		ln.Close()
		return nil, errors.New("the stack accepted no connection")
	}
}
