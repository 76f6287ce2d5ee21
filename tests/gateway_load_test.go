package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// The load of the gateway's leak test: many short relayed TCP connections
// that end in every way a relay can end, and many UDP flows, each from a
// port of its own. The clients run in the namespace routed into the
// device, the servers on gatewayServer in the daemon's.

// relayEnding is how a relayed connection ends, and so which path of the
// relay and of the stack's connection it takes.
type relayEnding int

const (
	// clientCloses: the client half-closes first; the relay passes the
	// FIN to the server, whose FIN comes back. The stack's end closes
	// second (CLOSE-WAIT, LAST-ACK).
	clientCloses relayEnding = iota
	// serverCloses: the server answers and closes first; the stack's end
	// closes first and ends in TIME-WAIT (2×MSL).
	serverCloses
	// clientResets: the client resets; the relay resets the server.
	clientResets
	// serverResets: the server resets; the relay resets the client.
	serverResets
	relayEndings
)

func (e relayEnding) String() string {
	return [...]string{"client-closes", "server-closes", "client-resets", "server-resets"}[e]
}

const (
	// relayLoadPort is the first server port; ending e listens on
	// relayLoadPort+e, so the server knows how to end without being told.
	relayLoadPort = 9200
	// udpEchoPort is the UDP echo server's.
	udpEchoPort = 9300
	// udpFirstClientPort is the first flow's source port: flow i comes
	// from udpFirstClientPort+i, below the kernel's ephemeral ports
	// (32768 on), so the flows' ports are distinct by construction and
	// never collide with the TCP clients'.
	udpFirstClientPort = 20000
	// udpFlowLimit is how many flows the clients keep open at once: below
	// what the gateway relays at once (gateway.MaxUDPFlows, 4,096), and
	// low enough that what the daemon keeps at its peak size once the
	// flows have gone (the runtime's goroutine descriptors, the tables'
	// map buckets: about 10 MiB after a peak of 4,000 flows) stays well
	// inside the leak test's memory slack.
	udpFlowLimit = 1024
	// loadIOTimeout bounds each connect, exchange and answer.
	loadIOTimeout = 10 * time.Second
	// udpAnswerTimeout is how long a flow waits for its echo before it
	// sends its datagram again (the same flow: same ports).
	udpAnswerTimeout = time.Second
	udpAttempts      = 5
)

var (
	ping = []byte("ping")
	pong = []byte("pong")
)

// serveRelayEndings starts a server per ending on gatewayServer in ns,
// each ending its connections that way; they stop when the test ends.
func serveRelayEndings(t *testing.T, ns string) {
	t.Helper()
	for e := range relayEndings {
		ln := testkit.ListenIn(t, ns, fmt.Sprintf("%s:%d", gatewayServer, relayLoadPort+int(e)))
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return // the test ended
				}
				go serveEnding(c.(*net.TCPConn), e)
			}
		}()
	}
}

// serveEnding is the server's part of ending e.
func serveEnding(c *net.TCPConn, e relayEnding) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(loadIOTimeout))
	switch e {
	case clientCloses, clientResets:
		io.Copy(c, c) // echo until the client's FIN or RST
	case serverCloses:
		if _, err := io.ReadFull(c, make([]byte, len(ping))); err == nil {
			c.Write(pong)
		}
	case serverResets:
		if _, err := io.ReadFull(c, make([]byte, len(ping))); err == nil {
			c.SetLinger(0) // the close sends a RST
		}
	}
}

// relayOnce is the client's part of ending e: it connects to the server
// of e through the gateway and checks that the connection ended as e
// says, seen from the client.
func relayOnce(e relayEnding) error {
	c, err := net.DialTimeout("tcp4", fmt.Sprintf("%s:%d", gatewayServer, relayLoadPort+int(e)), loadIOTimeout)
	if err != nil {
		return err
	}
	tc := c.(*net.TCPConn)
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(loadIOTimeout))
	if _, err := tc.Write(ping); err != nil {
		return err
	}
	buf := make([]byte, 16)
	switch e {
	case clientCloses:
		if err := readEcho(tc, buf); err != nil {
			return err
		}
		if err := tc.CloseWrite(); err != nil {
			return err
		}
		if n, err := tc.Read(buf); n != 0 || err != io.EOF {
			return fmt.Errorf("after its FIN the client read %q, %v: want the server's FIN", buf[:n], err)
		}
	case serverCloses:
		got, err := io.ReadAll(tc)
		if err != nil || !bytes.Equal(got, pong) {
			return fmt.Errorf("read %q, %v: want %q and the server's FIN", got, err, pong)
		}
	case clientResets:
		if err := readEcho(tc, buf); err != nil {
			return err
		}
		tc.SetLinger(0) // the deferred close sends a RST
	case serverResets:
		if n, err := tc.Read(buf); !errors.Is(err, syscall.ECONNRESET) {
			return fmt.Errorf("read %q, %v: want the server's reset", buf[:n], err)
		}
	}
	return nil
}

func readEcho(c net.Conn, buf []byte) error {
	if _, err := io.ReadFull(c, buf[:len(ping)]); err != nil || !bytes.Equal(buf[:len(ping)], ping) {
		return fmt.Errorf("read %q, %v: want the echo %q", buf[:len(ping)], err, ping)
	}
	return nil
}

// loadResult is what a load achieved: how many of its connections or
// flows did what they should, and the others' errors by kind.
type loadResult struct {
	mu       sync.Mutex
	ok       int
	failures map[string]int
	retries  int // UDP: datagrams sent again for want of an answer
	took     time.Duration
}

func (r *loadResult) add(retries int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retries += retries
	if err == nil {
		r.ok++
		return
	}
	if r.failures == nil {
		r.failures = make(map[string]int)
	}
	r.failures[err.Error()]++
}

// String names at most five kinds of failure, the most frequent first.
func (r *loadResult) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	kinds := make([]string, 0, len(r.failures))
	for k := range r.failures {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return r.failures[kinds[i]] > r.failures[kinds[j]] })
	var b strings.Builder
	fmt.Fprintf(&b, "%d succeeded in %v", r.ok, r.took.Round(time.Millisecond))
	if r.retries > 0 {
		fmt.Fprintf(&b, ", %d datagrams sent again", r.retries)
	}
	for i, k := range kinds[:min(5, len(kinds))] {
		fmt.Fprintf(&b, "; failure %d: %dx %s", i+1, r.failures[k], k)
	}
	return b.String()
}

// inParallel runs each(i) for i in [0, n) on workers goroutines whose
// threads are in namespace ns (so the sockets each opens are there),
// until all are done or timeout has passed; it returns how many ran and
// how long it took.
func inParallel(t *testing.T, ns string, n, workers int, timeout time.Duration, each func(i int)) (ran int, took time.Duration) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	var next atomic.Int64
	errs := make(chan error, workers)
	for range workers {
		go func() {
			errs <- testkit.InNamespace(ns, func() error {
				for time.Now().Before(deadline) {
					i := int(next.Add(1) - 1)
					if i >= n {
						return nil
					}
					each(i)
				}
				return nil
			})
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Errorf("a worker in %s: %v", ns, err)
		}
	}
	return min(int(next.Load()), n), time.Since(start)
}

// relayMany opens and ends n relayed connections from ns, each ending
// in turn, workers at a time, within timeout.
func relayMany(t *testing.T, ns string, n, workers int, timeout time.Duration) *loadResult {
	t.Helper()
	r := &loadResult{}
	_, r.took = inParallel(t, ns, n, workers, timeout, func(i int) {
		e := relayEnding(i % int(relayEndings))
		if err := relayOnce(e); err != nil {
			r.add(0, fmt.Errorf("%v: %w", e, err))
			return
		}
		r.add(0, nil)
	})
	return r
}

// serveUDPEcho answers every datagram to gatewayServer:udpEchoPort in ns
// with itself, until the test ends.
func serveUDPEcho(t *testing.T, ns string) {
	t.Helper()
	var pc net.PacketConn
	err := testkit.InNamespace(ns, func() (err error) {
		pc, err = net.ListenPacket("udp4", fmt.Sprintf("%s:%d", gatewayServer, udpEchoPort))
		return err
	})
	if err != nil {
		t.Fatalf("UDP echo server in %s: %v", ns, err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed: the test ended
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
}

// flowPacer keeps the flows the gateway holds below udpFlowLimit: a
// flow holds its place until it has been idle for the time-out, so the
// clients start one only when the gateway's count of active flows (asked
// at most every pacerPoll), plus the flows started since it was asked,
// leaves room. Flows started before the count was asked but not yet
// offered to the gateway are at most one per worker: margin covers them.
type flowPacer struct {
	control string
	limit   int

	mu      sync.Mutex
	active  int       // the gateway's active flows when last asked
	started int       // flows started since then
	asked   time.Time // when
	err     error
}

const pacerPoll = 20 * time.Millisecond

func newFlowPacer(control string, margin int) *flowPacer {
	return &flowPacer{control: control, limit: udpFlowLimit - margin}
}

// wait waits, at most timeout, until a flow may start, and counts it.
func (p *flowPacer) wait(timeout time.Duration) error {
	ok, last := testkit.Poll(timeout, func() (bool, string) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.active+p.started < p.limit {
			p.started++
			return true, ""
		}
		if time.Since(p.asked) >= pacerPoll {
			p.ask()
		}
		return false, fmt.Sprintf("%d flows active, %d started since (%v)", p.active, p.started, p.err)
	})
	if !ok {
		return fmt.Errorf("no room for a flow within %v: %s", timeout, last)
	}
	return nil
}

// ask refreshes the gateway's count of active flows; p.mu is held.
func (p *flowPacer) ask() {
	p.asked = time.Now()
	line, err := statusLine(p.control)
	var reply struct {
		Gateway *gatewayStatus `json:"gateway"`
	}
	if err == nil {
		if err = json.Unmarshal(line, &reply); err == nil && reply.Gateway == nil {
			err = fmt.Errorf("status reply without the gateway: %.200s", line)
		}
	}
	if p.err = err; err != nil {
		return
	}
	p.active, p.started = reply.Gateway.UDP.Active, 0
}

// flowOnce opens flow i from its own source port, sends a datagram to
// the echo server through the gateway and waits for its answer, sending
// it again (same flow) if the answer does not come.
func flowOnce(i int) (retries int, err error) {
	c, err := net.DialUDP("udp4", &net.UDPAddr{Port: udpFirstClientPort + i},
		&net.UDPAddr{IP: net.ParseIP(gatewayServer), Port: udpEchoPort})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	payload := fmt.Appendf(nil, "flow %d", i)
	buf := make([]byte, 64)
	for attempt := range udpAttempts {
		if _, err = c.Write(payload); err != nil {
			return attempt, err
		}
		c.SetReadDeadline(time.Now().Add(udpAnswerTimeout))
		var n int
		n, err = c.Read(buf)
		if err == nil && bytes.Equal(buf[:n], payload) {
			return attempt, nil
		}
		if err == nil {
			err = fmt.Errorf("answer %q, want %q", buf[:n], payload)
		}
	}
	return udpAttempts - 1, fmt.Errorf("no answer to %d datagrams: %w", udpAttempts, err)
}

// flowMany runs n UDP flows from ns, paced by p, workers at a time,
// within timeout.
func flowMany(t *testing.T, ns string, p *flowPacer, n, workers int, timeout time.Duration) *loadResult {
	t.Helper()
	r := &loadResult{}
	_, r.took = inParallel(t, ns, n, workers, timeout, func(i int) {
		if err := p.wait(timeout); err != nil {
			r.add(0, err)
			return
		}
		r.add(flowOnce(i))
	})
	return r
}
