package tests

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// The servers of the gateway test, in the namespace the daemon runs in,
// on addresses of its loopback device that are not the stack's: the
// client reaches them only if the gateway relays its connections.
const (
	gatewayServer  = "192.0.2.10" // python's http.server, nc -l, dnsmasq
	gatewaySilent  = "192.0.2.20" // nftables drops what goes there
	gatewayServer6 = "2001:db8::10"
	gatewayDNSName = "relayed.gateway.test"
	gatewayDNSAddr = "198.51.100.7"
)

// startGateway makes an outer namespace with the servers' addresses on
// its lo and runs `tunstack up --netns INNER --gateway
// --gateway-default-route` inside it: the client namespace INNER's
// default route is the device, and the relayed sockets open in OUTER, so
// no packet leaves the test's namespaces.
func startGateway(t *testing.T, extra ...string) (outer string, d *daemon) {
	t.Helper()
	outer = testkit.AddNamespace(t)
	for _, a := range []string{gatewayServer + "/32", gatewaySilent + "/32", gatewayServer6 + "/128"} {
		mustRun(t, "ip", "-n", outer, "addr", "add", a, "dev", "lo")
	}
	// INNER exists before the daemon starts: a namespace that tunstack
	// creates from inside `ip netns exec` (a mount namespace of its own)
	// is not visible outside it.
	inner := testkit.AddNamespace(t)
	args := append([]string{"--gateway", "--gateway-default-route"}, extra...)
	if !slices.Contains(extra, "--gateway-udp-timeout") { // a flag may be given once
		args = append(args, "--gateway-udp-timeout", "5s")
	}
	d = startDaemonVia(t, []string{"ip", "netns", "exec", outer}, inner, args...)
	return outer, d
}

// TestGateway: a namespace whose default route is the device reaches
// servers on addresses that are not the stack's through --gateway, with
// either engine: 64 MiB each way byte-identical, a half-close, a refusal
// at once, a silent address that times out, and DNS through the UDP
// relay. gVisor's netstack in the same role (--engine gvisor, which the
// benchmarks set side by side) passes the same checks, with 8 MiB each
// way.
func TestGateway(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.RequireCommand(t, "python3", "python3")
	testkit.RequireCommand(t, "nft", "nftables")
	testkit.RequireCommand(t, "dnsmasq", "dnsmasq-base")
	testkit.RequireCommand(t, "dig", "bind9-dnsutils")
	t.Parallel()
	for _, e := range []struct {
		engine string
		mib    int // each way
	}{{"native", forwardMiB}, {"gvisor", 8}} {
		t.Run(e.engine, func(t *testing.T) {
			t.Parallel()
			testGateway(t, e.engine, e.mib)
		})
	}
}

func testGateway(t *testing.T, engine string, mib int) {
	outer, d := startGateway(t, "--engine", engine, "--metrics", "127.0.0.1:9100", "--metrics-from-host")
	dir := testkit.ShortTempDir(t)

	if r := runIn(t, d.ns, nil, "ip", "route", "show", "default"); !strings.Contains(r.stdout, "default dev") {
		t.Fatalf("--gateway-default-route: the client namespace's default route is %q", r.stdout)
	}

	t.Run("download", func(t *testing.T) {
		want := randomFile(t, dir, "big", int64(mib)<<20)
		name, args := inNamespace(outer, "python3", "-m", "http.server", "--bind", gatewayServer, "--directory", dir, "8000")
		srv := startProcess(t, nil, name, args...)
		waitListening(t, outer, gatewayServer+":8000", srv)
		out := filepath.Join(dir, "down")
		start := time.Now()
		if r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "25", "-o", out, "http://"+gatewayServer+":8000/big"); r.err != nil {
			t.Fatalf("curl through the gateway: %v", r)
		}
		if got, n := fileSum(t, out); got != want {
			t.Fatalf("downloaded %d bytes with sha256 %x, want %d bytes with %x", n, got, mib<<20, want)
		}
		t.Logf("%d MiB down through the %s gateway, byte-identical, in %v", mib, engine, time.Since(start).Round(time.Millisecond))
	})

	t.Run("upload", func(t *testing.T) {
		uploadThrough(t, "the "+engine+" gateway", mib, dir, outer, gatewayServer+":9000", d.ns, gatewayServer, "9000")
	})

	t.Run("half-close", func(t *testing.T) {
		ln := testkit.ListenIn(t, outer, gatewayServer+":9003")
		go answerAfterFIN(ln)
		r := runIn(t, d.ns, []byte("hello, server"), "nc", "-N", gatewayServer, "9003")
		if r.err != nil || r.stdout != "13 bytes\n" {
			t.Fatalf("nc -N: want the answer \"13 bytes\" after its FIN: %v", r)
		}
	})

	t.Run("ipv6", func(t *testing.T) {
		ln := testkit.ListenIn(t, outer, "["+gatewayServer6+"]:9004")
		go answerAfterFIN(ln)
		r := runIn(t, d.ns, []byte("hello over IPv6"), "nc", "-N", gatewayServer6, "9004")
		if r.err != nil || r.stdout != "15 bytes\n" {
			t.Fatalf("nc -N to [%s]:9004 through the gateway: %v", gatewayServer6, r)
		}
	})

	t.Run("ss", func(t *testing.T) {
		// A connection being relayed shows its upstream: the kernel's
		// socket's peer, here the destination itself.
		ln := testkit.ListenIn(t, outer, gatewayServer+":9007")
		go func() {
			c, err := ln.Accept()
			if err == nil {
				io.Copy(io.Discard, c)
				c.Close()
			}
		}()
		c := testkit.DialIn(t, d.ns, gatewayServer+":9007", 5*time.Second)
		defer c.Close()
		testkit.WaitFor(t, 10*time.Second, "the relayed connection with its upstream in the status", func() (bool, string) {
			line, err := statusLine(d.control)
			if err != nil {
				return false, err.Error()
			}
			var reply struct {
				Connections []struct{ Local, Remote, Upstream string }
			}
			json.Unmarshal(line, &reply)
			for _, conn := range reply.Connections {
				if conn.Local == gatewayServer+":9007" && conn.Remote == c.LocalAddr().String() {
					return conn.Upstream == gatewayServer+":9007", fmt.Sprintf("%+v", conn)
				}
			}
			return false, string(line)
		})
	})

	t.Run("reset", func(t *testing.T) {
		// The server resets after the request: curl reads a reset.
		ln := testkit.ListenIn(t, outer, gatewayServer+":9006")
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 4096))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}()
		r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "10", "http://"+gatewayServer+":9006/")
		if r.exitCode != 56 || !strings.Contains(r.stderr, "reset") {
			t.Errorf("curl to a server that resets: want exit 56, reset by peer: %v", r)
		}
	})

	t.Run("refused", func(t *testing.T) {
		r := runIn(t, d.ns, nil, "curl", "-sS", "-v", "--max-time", "10", "http://"+gatewayServer+":1/")
		if r.exitCode != 7 || !strings.Contains(r.stderr, "Connection refused") {
			t.Errorf("curl to a port that refuses: want exit 7, connection refused: %v", r)
		}
		if r.elapsed > 3*time.Second {
			t.Errorf("curl took %v to be refused, want well under 3s (a RST to its SYN)", r.elapsed)
		}
	})

	t.Run("silent", func(t *testing.T) {
		rules := "table inet silent {\n\tchain out {\n\t\ttype filter hook output priority 0;\n\t\tip daddr " + gatewaySilent + " counter drop\n\t}\n}\n"
		if r := runIn(t, outer, []byte(rules), "nft", "-f", "-"); r.err != nil {
			t.Fatalf("nft: %v", r)
		}
		const connectTimeout = 3
		r := runIn(t, d.ns, nil, "curl", "-sS", "-v", "--connect-timeout", fmt.Sprint(connectTimeout), "http://"+gatewaySilent+"/")
		if r.exitCode != 28 || strings.Contains(r.stderr, "Connected to") {
			t.Errorf("curl to an address that never answers: want exit 28 before connecting: %v", r)
		}
		if r.elapsed < connectTimeout*time.Second*9/10 {
			t.Errorf("curl gave up after %v, want its --connect-timeout of %ds", r.elapsed, connectTimeout)
		}
	})

	t.Run("no-route", func(t *testing.T) {
		// The daemon's namespace has no route to 203.0.113.5 (TEST-NET-3):
		// the relay's connect fails with ENETUNREACH, and the native
		// stack answers the client's SYN as a router would, with an ICMP
		// net unreachable: curl fails at once. gVisor's stays silent.
		r := runIn(t, d.ns, nil, "curl", "-sS", "--connect-timeout", "3", "http://203.0.113.5/")
		switch {
		case engine == "native" && (r.exitCode != 7 || r.elapsed > 2*time.Second):
			t.Errorf("curl to an address the gateway has no route to: want exit 7 at once (net unreachable): %v", r)
		case engine == "gvisor" && r.exitCode != 28:
			t.Errorf("curl to an address gVisor's gateway has no route to: want exit 28 (silence): %v", r)
		}
	})

	t.Run("dns", func(t *testing.T) {
		hosts := filepath.Join(dir, "hosts")
		if err := os.WriteFile(hosts, []byte(gatewayDNSAddr+" "+gatewayDNSName+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// The binary alone, in the foreground: no configuration, no
		// resolv.conf, no pid file, no system service.
		name, args := inNamespace(outer, "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--user=root",
			"--listen-address="+gatewayServer, "--bind-interfaces", "--port=53", "--no-resolv", "--no-hosts",
			"--addn-hosts="+hosts, "--pid-file=", "--log-facility=-")
		srv := startProcess(t, nil, name, args...)
		testkit.WaitFor(t, 20*time.Second, "dnsmasq on "+gatewayServer+":53", func() (bool, string) {
			if srv.exited() {
				t.Fatalf("dnsmasq exited: %s", srv.output())
			}
			out := runIn(t, outer, nil, "ss", "-Huln", "src", gatewayServer+":53")
			return strings.TrimSpace(out.stdout) != "", out.stdout
		})
		r := runIn(t, d.ns, nil, "dig", "+short", "+time=2", "+tries=3", "@"+gatewayServer, gatewayDNSName, "A")
		if r.err != nil || strings.TrimSpace(r.stdout) != gatewayDNSAddr {
			t.Fatalf("dig %s through the gateway: want %s: %v", gatewayDNSName, gatewayDNSAddr, r)
		}
	})

	t.Run("udp-refused", func(t *testing.T) {
		// Nothing listens on UDP 9998 of the server's address: its
		// kernel's port unreachable reaches the relay's host socket, and
		// the native stack passes it on to the client as the
		// destination's, so the client's connected socket sees the
		// refusal as it would without the gateway. gVisor's sockets
		// cannot send one: there the client hears nothing.
		c := dialUDPIn(t, d.ns, gatewayServer+":9998")
		if _, err := c.Write([]byte("anyone?")); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, err := c.Read(make([]byte, 100))
		if engine == "native" && !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("read after a datagram to a closed port through the gateway: %v, want ECONNREFUSED", err)
		}
		var ne net.Error
		if engine == "gvisor" && (!errors.As(err, &ne) || !ne.Timeout()) {
			t.Errorf("read after a datagram to a closed port through gVisor's gateway: %v, want a time-out", err)
		}
	})

	t.Run("counters", func(t *testing.T) {
		// The status reply and the metrics count what went through, and
		// the DNS flow is closed once idle for --gateway-udp-timeout (5s).
		var g gatewayStatus
		testkit.WaitFor(t, 30*time.Second, "the idle UDP flow to close", func() (bool, string) {
			g = d.gatewayStatus(t)
			return g.UDP.Active == 0 && g.TCP.Active == 0, fmt.Sprintf("%+v", g)
		})
		// download, upload and half-close were relayed; the refused
		// port is a dial failure. (The silent address's connect may still
		// be in progress: its ETIMEDOUT comes after 10s.)
		if g.TCP.Relayed < 3 || g.TCP.BytesToClient < uint64(mib)<<20 || g.TCP.BytesToUpstream < uint64(mib)<<20 || g.TCP.DialFailures["ECONNREFUSED"] < 1 {
			t.Errorf("gateway TCP counters %+v: want 3 relayed, %d MiB each way, a refusal", g.TCP, mib)
		}
		if g.UDP.Flows < 1 || g.UDP.DatagramsUp < 1 || g.UDP.DatagramsDown < 1 || g.UDP.BytesToClient == 0 {
			t.Errorf("gateway UDP counters %+v: want the DNS flow, a datagram each way", g.UDP)
		}
		r := runIn(t, outer, nil, "curl", "-sS", "--max-time", "10", "http://127.0.0.1:9100/metrics")
		for _, want := range []string{
			"tunstack_gateway_tcp_connections_total " + fmt.Sprint(g.TCP.Relayed),
			`tunstack_gateway_dial_failures_total{errno="ECONNREFUSED",protocol="tcp"} ` + fmt.Sprint(g.TCP.DialFailures["ECONNREFUSED"]),
			"tunstack_gateway_udp_flows_total " + fmt.Sprint(g.UDP.Flows),
			"tunstack_gateway_udp_flows 0",
		} {
			if !strings.Contains(r.stdout, want+"\n") {
				t.Errorf("metrics lack %q: %v", want, r)
			}
		}
	})
}

// gatewayStatus is the gateway's part of the status reply.
type gatewayStatus struct {
	TCP struct {
		Active, Relayed int
		BytesToUpstream uint64            `json:"bytes_to_upstream"`
		BytesToClient   uint64            `json:"bytes_to_client"`
		DialFailures    map[string]uint64 `json:"dial_failures"`
	}
	UDP struct {
		Active        int
		Flows         uint64
		DatagramsUp   uint64 `json:"datagrams_up"`
		DatagramsDown uint64 `json:"datagrams_down"`
		BytesToClient uint64 `json:"bytes_to_client"`
	}
}

func (d *daemon) gatewayStatus(t *testing.T) gatewayStatus {
	t.Helper()
	line, err := statusLine(d.control)
	if err != nil {
		t.Fatal(err)
	}
	var reply struct {
		Gateway *gatewayStatus `json:"gateway"`
	}
	if err := json.Unmarshal(line, &reply); err != nil || reply.Gateway == nil {
		t.Fatalf("status reply without the gateway's counters: %v: %s", err, line)
	}
	return *reply.Gateway
}
