package crosscheck

import (
	"bytes"
	"fmt"
	"net/netip"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/faketime"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	gtcp "gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/tunstack/tunstack/stack/gvisor"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

const gvisorNIC tcpip.NICID = 1

// gvisorEngine drives gVisor's netstack: one stack per scenario with IPv4
// and TCP, attached to a channel link endpoint, on a manual clock.
//
// gVisor handles segments on its own goroutines (one TCP processor per
// GOMAXPROCS, chosen by a hash of the 4-tuple), so after every step the
// engine waits until they are done — see settle.
type gvisorEngine struct {
	clock *faketime.ManualClock
	st    *stack.Stack
	link  *channel.Endpoint
	local netip.AddrPort
	peer  netip.AddrPort
	cfg   Config

	listener tcpip.Endpoint // passive scenarios, after user open passive
	conn     tcpip.Endpoint // the active endpoint, or the accepted one
	err      error          // the first error the connection reported
	sent     []Sent
	buf      []byte
}

// NewGVisor returns gVisor's engine configured as the scenario says. It
// fails if gVisor refuses an option.
func NewGVisor(sc *Scenario) (_ Engine, err error) {
	clock := faketime.NewManualClock()
	st := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{gtcp.NewProtocol},
		Clock:              clock,
	})
	link := channel.New(1024, 1500, "")
	local, peer := Endpoints(sc.Active)
	e := &gvisorEngine{clock: clock, st: st, link: link, local: local, peer: peer, cfg: sc.Config, buf: make([]byte, 70000)}
	defer func() {
		if err != nil {
			e.Release() // stop the processor goroutines the stack started
		}
	}()
	if err := st.CreateNIC(gvisorNIC, link); err != nil {
		return nil, fmt.Errorf("gvisor CreateNIC: %v", err)
	}
	addr := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddrFrom4(stackAddr.As4()).WithPrefix(),
	}
	addr.AddressWithPrefix.PrefixLen = 24
	if err := st.AddProtocolAddress(gvisorNIC, addr, stack.AddressProperties{}); err != nil {
		return nil, fmt.Errorf("gvisor AddProtocolAddress: %v", err)
	}
	st.SetRouteTable([]tcpip.Route{{Destination: addr.AddressWithPrefix.Subnet(), NIC: gvisorNIC}})

	c := sc.Config
	sack := tcpip.TCPSACKEnabled(c.SACK)
	// RACK-TLP off: no probes before the RTO, duplicate ACKs and the
	// scoreboard decide losses (RFC 5681, RFC 6675).
	recovery := tcpip.TCPRecovery(0)
	if c.RACK {
		recovery = tcpip.TCPRACKLossDetection
	}
	moderate := tcpip.TCPModerateReceiveBufferOption(false)
	maxRTO := tcpip.TCPMaxRTOOption(c.MaxRTO)
	minRTO := tcpip.TCPMinRTOOption(c.MinRTO)
	timeWait := tcpip.TCPTimeWaitTimeoutOption(2 * c.MSL)
	linger := tcpip.TCPLingerTimeoutOption(c.FinWait2Timeout)
	synRetries := tcpip.TCPSynRetriesOption(c.SynRetries)
	retries := tcpip.TCPMaxRetriesOption(c.DataRetries)
	// Answer every unacceptable segment and challenge with an ACK, as RFC
	// 9293 §3.10.7.4 says, unless the script sets invalid-ratelimit.
	if err := st.SetOption(stack.TCPInvalidRateLimitOption(c.InvalidRateLimit)); err != nil {
		return nil, fmt.Errorf("gvisor option TCPInvalidRateLimitOption: %v", err)
	}
	opts := []tcpip.SettableTransportProtocolOption{
		&sack, &recovery, &moderate, &maxRTO, &minRTO, &timeWait, &linger, &synRetries, &retries,
	}
	switch c.Congestion {
	case "newreno":
		cc := tcpip.CongestionControlOption("reno")
		opts = append(opts, &cc)
	case "cubic":
		cc := tcpip.CongestionControlOption("cubic")
		opts = append(opts, &cc)
	}
	for _, opt := range opts {
		if err := st.SetTransportProtocolOption(gtcp.ProtocolNumber, opt); err != nil {
			return nil, fmt.Errorf("gvisor option %T: %v", opt, err)
		}
	}
	return e, nil
}

// settle waits until gVisor has finished with everything the last step set
// off, without waiting on real time:
//
//   - Advance(0) on the manual clock runs the timers due now, and waits for
//     those the clock started on goroutines (timers reset to fire at once);
//   - Stack.Pause returns only when every TCP processor goroutine has
//     emptied its queue of endpoints and parked (it is the barrier gVisor
//     uses before save/restore); Resume lets them run again.
//
// Segment processing can hand a segment on to another endpoint once (a
// TIME-WAIT or closed endpoint passes it to the listener), possibly on a
// processor that was already paused, so the round runs twice. Everything
// gVisor sends goes synchronously to the channel endpoint (no queueing
// discipline is configured), where collect reads it.
func (e *gvisorEngine) settle() {
	for range 2 {
		e.clock.Advance(0)
		e.st.Pause()
		e.st.Resume()
	}
	e.collect()
	e.acceptPending()
}

// collect reads every packet gVisor sent and parses it with stack/wire.
func (e *gvisorEngine) collect() {
	for {
		pkt := e.link.Read()
		if pkt == nil {
			return
		}
		v := pkt.ToView()
		b := bytes.Clone(v.AsSlice())
		v.Release()
		pkt.DecRef()
		p, err := wire.ParseIP(b)
		if err != nil {
			panic(fmt.Sprintf("gvisor sent an unparsable packet %x: %v", b, err))
		}
		if p.Protocol != wire.ProtoTCP {
			continue
		}
		var seg tcp.Segment
		if err := wire.ParseTCP(&p, &seg); err != nil {
			panic(fmt.Sprintf("gvisor sent an unparsable segment %x: %v", b, err))
		}
		seg.Payload = bytes.Clone(seg.Payload)
		e.sent = append(e.sent, Sent{Segment: seg})
	}
}

// acceptPending accepts a connection that completed its handshake, as an
// application blocked in accept would.
func (e *gvisorEngine) acceptPending() {
	if e.listener == nil {
		return
	}
	if ep, _, err := e.listener.Accept(nil); err == nil {
		if err := e.setEndpointOptions(ep); err != nil {
			panic(err) // the same options were taken by the listener
		}
		e.conn = ep
		e.err = nil
	}
}

// setEndpointOptions applies the per-endpoint options of the scenario:
// the user timeout (inherited by accepted endpoints, set again anyway) and
// keep-alives (not inherited).
func (e *gvisorEngine) setEndpointOptions(ep tcpip.Endpoint) error {
	c := e.cfg
	if c.UserTimeout > 0 {
		uto := tcpip.TCPUserTimeoutOption(c.UserTimeout)
		if err := ep.SetSockOpt(&uto); err != nil {
			return fmt.Errorf("gvisor TCPUserTimeoutOption: %v", err)
		}
	}
	if c.KeepAliveIdle > 0 {
		idle := tcpip.KeepaliveIdleOption(c.KeepAliveIdle)
		interval := tcpip.KeepaliveIntervalOption(c.KeepAliveInterval)
		for _, opt := range []tcpip.SettableSocketOption{&idle, &interval} {
			if err := ep.SetSockOpt(opt); err != nil {
				return fmt.Errorf("gvisor %T: %v", opt, err)
			}
		}
		if err := ep.SetSockOptInt(tcpip.KeepaliveCountOption, c.KeepAliveCount); err != nil {
			return fmt.Errorf("gvisor KeepaliveCountOption: %v", err)
		}
		ep.SocketOptions().SetKeepAlive(true)
	}
	return nil
}

func (e *gvisorEngine) Input(seg *tcp.Segment) {
	n, err := wire.BuildTCP(e.buf, e.peer.Addr(), e.local.Addr(), seg, 64)
	if err != nil {
		panic(fmt.Sprintf("build segment: %v", err))
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(bytes.Clone(e.buf[:n]))})
	e.link.InjectInbound(ipv4.ProtocolNumber, pkt)
	pkt.DecRef()
	e.settle()
}

func (e *gvisorEngine) Advance(d time.Duration) {
	e.settle()
	e.clock.Advance(d)
	e.settle()
}

func (e *gvisorEngine) Sent() []Sent {
	e.settle()
	s := e.sent
	e.sent = nil
	return s
}

// child is the endpoint gVisor's demultiplexer holds for the scenario's
// 4-tuple (a connection in its handshake, or one accepted), or nil.
func (e *gvisorEngine) child() *gtcp.Endpoint {
	id := stack.TransportEndpointID{
		LocalPort:     e.local.Port(),
		LocalAddress:  tcpip.AddrFrom4(e.local.Addr().As4()),
		RemotePort:    e.peer.Port(),
		RemoteAddress: tcpip.AddrFrom4(e.peer.Addr().As4()),
	}
	ep := e.st.FindTransportEndpoint(ipv4.ProtocolNumber, gtcp.ProtocolNumber, id, gvisorNIC)
	if ep == nil {
		return nil
	}
	t, ok := ep.(*gtcp.Endpoint)
	if !ok || tcpip.Endpoint(t) == e.listener {
		return nil
	}
	return t
}

// State maps gVisor's endpoint states to RFC 9293's. In a passive
// scenario the connection is the endpoint for the 4-tuple while one
// exists; before the first and after one that never completed its
// handshake (Figure 8) it is the listener.
func (e *gvisorEngine) State() tcp.State {
	e.settle()
	if c := e.child(); c != nil {
		return gvisor.RFCState(gtcp.EndpointState(c.State()))
	}
	if e.conn != nil {
		return gvisor.RFCState(gtcp.EndpointState(e.conn.State()))
	}
	if e.listener != nil {
		return gvisor.RFCState(gtcp.EndpointState(e.listener.State()))
	}
	return tcp.Closed
}

// Err returns the connection's error; gVisor hands a hard error out once,
// so the first one is kept.
func (e *gvisorEngine) Err() error {
	e.settle()
	if e.err == nil && e.conn != nil {
		if err := e.conn.LastError(); err != nil {
			e.err = mapError(err)
		}
	}
	return e.err
}

func mapError(err tcpip.Error) error {
	switch err.(type) {
	case *tcpip.ErrConnectionRefused:
		return tcp.ErrConnectionRefused
	case *tcpip.ErrConnectionReset:
		return tcp.ErrConnectionReset
	case *tcpip.ErrTimeout:
		return tcp.ErrTimedOut
	case *tcpip.ErrConnectionAborted, *tcpip.ErrAborted:
		return tcp.ErrConnectionAborted
	}
	return fmt.Errorf("gvisor: %v", err)
}

func (e *gvisorEngine) newEndpoint(port uint16) (tcpip.Endpoint, error) {
	ep, err := e.st.NewEndpoint(gtcp.ProtocolNumber, ipv4.ProtocolNumber, &waiter.Queue{})
	if err != nil {
		return nil, fmt.Errorf("gvisor NewEndpoint: %v", err)
	}
	if err := ep.Bind(tcpip.FullAddress{Addr: tcpip.AddrFrom4(stackAddr.As4()), Port: port}); err != nil {
		return nil, fmt.Errorf("gvisor Bind: %v", err)
	}
	return ep, e.setEndpointOptions(ep)
}

func (e *gvisorEngine) OpenPassive() error {
	defer e.settle()
	ep, err := e.newEndpoint(e.local.Port())
	if err != nil {
		return err
	}
	if err := ep.Listen(16); err != nil {
		return fmt.Errorf("gvisor Listen: %v", err)
	}
	e.listener = ep
	return nil
}

func (e *gvisorEngine) OpenActive() error {
	defer e.settle()
	ep, err := e.newEndpoint(e.local.Port())
	if err != nil {
		return err
	}
	e.conn = ep
	switch err := ep.Connect(tcpip.FullAddress{NIC: gvisorNIC, Addr: tcpip.AddrFrom4(e.peer.Addr().As4()), Port: e.peer.Port()}); err.(type) {
	case *tcpip.ErrConnectStarted, nil:
		return nil
	default:
		return fmt.Errorf("gvisor Connect: %v", err)
	}
}

// errNoConnection: a user call that needs the connection came before gVisor
// had one to give (a passive connection is only handed out once accepted).
var errNoConnection = fmt.Errorf("gvisor: no accepted connection")

func (e *gvisorEngine) Send(p []byte) error {
	defer e.settle()
	if e.conn == nil {
		return errNoConnection
	}
	n, err := e.conn.Write(bytes.NewReader(p), tcpip.WriteOptions{})
	if err != nil {
		return fmt.Errorf("gvisor Write: %v", err)
	}
	if int(n) != len(p) {
		return fmt.Errorf("gvisor Write took %d of %d bytes", n, len(p))
	}
	return nil
}

func (e *gvisorEngine) Shutdown() error {
	defer e.settle()
	if e.conn == nil {
		return errNoConnection
	}
	if err := e.conn.Shutdown(tcpip.ShutdownWrite); err != nil {
		return fmt.Errorf("gvisor Shutdown: %v", err)
	}
	return nil
}

func (e *gvisorEngine) Close() error {
	defer e.settle()
	switch {
	case e.conn != nil:
		e.conn.Close()
	case e.listener != nil && e.child() == nil:
		e.listener.Close() // CLOSE in LISTEN
	default:
		return errNoConnection
	}
	return nil
}

func (e *gvisorEngine) Abort() error {
	defer e.settle()
	if e.conn == nil {
		return errNoConnection
	}
	e.conn.Abort()
	return nil
}

func (e *gvisorEngine) Read() ([]byte, bool, error) {
	defer e.settle()
	if e.conn == nil {
		return nil, false, errNoConnection
	}
	var out bytes.Buffer
	for {
		res, err := e.conn.Read(&out, tcpip.ReadOptions{})
		switch err.(type) {
		case nil:
			if res.Count == 0 {
				return out.Bytes(), false, nil
			}
			continue
		case *tcpip.ErrWouldBlock:
			return out.Bytes(), false, nil
		case *tcpip.ErrClosedForReceive:
			return out.Bytes(), true, nil
		default:
			return out.Bytes(), false, mapError(err)
		}
	}
}

func (e *gvisorEngine) Release() {
	e.settle()
	if e.conn != nil {
		e.conn.Abort()
	}
	if e.listener != nil {
		e.listener.Close()
	}
	e.st.Close()
	e.st.Wait()
	e.link.Close()
}
