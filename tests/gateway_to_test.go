package tests

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// TestGatewayTo: with --gateway-to, a TCP connection and a UDP flow to an
// address that exists nowhere (203.0.113.5) reach the one server given,
// in the daemon's namespace, with either engine.
func TestGatewayTo(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	for _, engine := range []string{"native", "gvisor"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			testGatewayTo(t, engine)
		})
	}
}

func testGatewayTo(t *testing.T, engine string) {
	const to = gatewayServer + ":9010"
	outer, d := startGateway(t, "--engine", engine, "--gateway-to", to)

	ln := testkit.ListenIn(t, outer, to)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c) // echo until the client's FIN
	}()
	r := runIn(t, d.ns, []byte("to the proxy"), "nc", "-N", "203.0.113.5", "80")
	if r.err != nil || r.stdout != "to the proxy" {
		t.Fatalf("nc -N 203.0.113.5 80 through --gateway-to %s: want the echo: %v", to, r)
	}

	var srv net.PacketConn
	if err := testkit.InNamespace(outer, func() (err error) {
		srv, err = net.ListenPacket("udp", to)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			srv.WriteTo([]byte(strings.ToUpper(string(buf[:n]))), from)
		}
	}()
	var client net.Conn
	if err := testkit.InNamespace(d.ns, func() (err error) {
		client, err = net.Dial("udp", "203.0.113.5:53")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	buf := make([]byte, 1500)
	// The client's socket is connected: it reads only an answer from
	// 203.0.113.5:53, the address the stack answers from. UDP may lose a
	// datagram: ask again, within a deadline.
	testkit.WaitFor(t, 10*time.Second, "the UDP answer through --gateway-to", func() (bool, string) {
		client.Write([]byte("query"))
		client.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := client.Read(buf)
		if err != nil {
			return false, err.Error()
		}
		return string(buf[:n]) == "QUERY", string(buf[:n])
	})
}
