package tests

import (
	"bytes"
	"crypto/rand"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// These tests reach the stack's UDP (issue 13, point 2) from the
// namespace's kernel side: nc -u and Go sockets opened in the namespace.

// udpReply is the part of the status reply's counters these tests read.
type udpReply struct {
	Drops     map[string]uint64 `json:"drops"`
	Fragments struct {
		Reassembled  uint64 `json:"reassembled"`
		FragmentsOut uint64 `json:"fragments_out"`
	} `json:"fragments"`
	UDP struct {
		InDatagrams      uint64 `json:"in_datagrams"`
		NoPorts          uint64 `json:"no_ports"`
		OutDatagrams     uint64 `json:"out_datagrams"`
		PortUnreachables uint64 `json:"port_unreachables"`
	} `json:"udp"`
}

func (d *daemon) udpCounters(t *testing.T) udpReply {
	t.Helper()
	return statusCounters[udpReply](t, d)
}

// dialUDPIn opens a connected UDP socket to address inside namespace ns,
// closed when the test ends.
func dialUDPIn(t *testing.T, ns, address string) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := testkit.InNamespace(ns, func() error {
		conn, err := net.Dial("udp", address)
		if err == nil {
			c = conn.(*net.UDPConn)
		}
		return err
	})
	if err != nil {
		t.Fatalf("dial udp %s in namespace %s: %v", address, ns, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var udpHosts = []struct{ name, host, hostPort string }{
	{"IPv4", stackIPv4, stackIPv4 + ":"},
	{"IPv6", stackIPv6, "[" + stackIPv6 + "]:"},
}

// TestUDPEchoWithNC: nc -u's datagram comes back from the echo service
// on UDP port 7, which the default --serve starts, on either engine.
func TestUDPEchoWithNC(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	for _, engine := range []string{"native", "gvisor"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			d := startDaemon(t, "--engine", engine)
			for _, tc := range udpHosts {
				line := "a datagram over " + tc.name + "\n"
				// -W 1: exit after one datagram received.
				r := runIn(t, d.ns, []byte(line), "nc", "-u", "-W", "1", "-w", "10", tc.host, "7")
				if r.err != nil || r.stdout != line {
					t.Errorf("nc -u %s 7: want %q back: %v", tc.host, line, r)
				}
			}
			if c := d.udpCounters(t).UDP; engine == "native" && (c.InDatagrams != 2 || c.OutDatagrams != 2) {
				t.Errorf("UDP counters %+v, want 2 datagrams in and out", c)
			}
		})
	}
}

// TestUDPLargeDatagramEchoes: an 8,000-byte datagram crosses the 1,500-byte
// MTU in fragments both ways: the kernel fragments it, the stack
// reassembles it (stack/ipfrag) and sends its echo in fragments, which the
// kernel reassembles.
func TestUDPLargeDatagramEchoes(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	for _, tc := range udpHosts {
		c := dialUDPIn(t, d.ns, tc.hostPort+"7")
		data := make([]byte, 8000)
		rand.Read(data)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(data); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		buf := make([]byte, 10000)
		n, err := c.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], data) {
			t.Errorf("%s: read %d bytes (%v), want the 8000 sent", tc.name, n, err)
		}
	}
	// 8,008 bytes of UDP: 6 fragments each way and family.
	if c := d.udpCounters(t); c.Fragments.Reassembled != 2 || c.Fragments.FragmentsOut != 12 || c.UDP.OutDatagrams != 2 {
		t.Errorf("counters %+v, want 2 datagrams reassembled, 12 fragments out", c)
	}
}

// TestUDPClosedPortIsRefused: UDP to a port of the stack that no socket
// is bound to draws an ICMP port unreachable (RFC 1122 §4.1.3.1), which
// the kernel turns into ECONNREFUSED on the sender's connected socket,
// and which ends nc -u at once instead of after its -w time-out.
func TestUDPClosedPortIsRefused(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	for _, tc := range udpHosts {
		t.Run(tc.name, func(t *testing.T) {
			c := dialUDPIn(t, d.ns, tc.hostPort+"9999")
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write([]byte("anyone there?")); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Read(make([]byte, 100)); !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("read after a datagram to a closed port: %v, want ECONNREFUSED", err)
			}
			const idle = 20 * time.Second
			r := runIn(t, d.ns, []byte("anyone?\n"), "nc", "-u", "-w", "20", tc.host, "9999")
			if r.elapsed > idle/2 {
				t.Errorf("nc -u to a closed port took %v, want it to see the port unreachable at once: %v", r.elapsed, r)
			}
		})
	}
	if c := d.udpCounters(t); c.UDP.NoPorts != 4 || c.UDP.PortUnreachables != 4 || c.Drops["udp-no-port"] != 4 {
		t.Errorf("counters %+v, want 4 datagrams to no port, 4 port unreachables", c)
	}
}
