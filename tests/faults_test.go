package tests

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// The faults' tests share one daemon: HTTP on ports 8001-8012 and echo on
// 8101-8110, a port each per test, so that they run side by side.
func startFaultDaemon(t *testing.T) *daemon {
	t.Helper()
	var serve []string
	for p := 8001; p <= 8012; p++ {
		serve = append(serve, fmt.Sprintf("http:%d", p))
	}
	for p := 8101; p <= 8110; p++ {
		serve = append(serve, fmt.Sprintf("echo:%d", p))
	}
	return startDaemon(t, "--serve", strings.Join(serve, ","))
}

// fault runs `tunstack fault ARGS...` against the daemon.
func (d *daemon) fault(t *testing.T, args ...string) {
	t.Helper()
	full := append([]string{"fault"}, args...)
	full = append(full, "--control", d.control)
	r := run(t, nil, tunstackBinary(t), full...)
	if r.err != nil {
		t.Fatalf("tunstack %s: %v", strings.Join(full, " "), r)
	}
}

// faultCounts reads how many segments each fault acted on.
func (d *daemon) faultCounts(t *testing.T) map[string]uint64 {
	t.Helper()
	faults, _ := d.faultCounters(t)
	return faults
}

// faultCounters reads the fault counts and the retransmissions by kind.
func (d *daemon) faultCounters(t *testing.T) (faults, retransmits map[string]uint64) {
	t.Helper()
	c := statusCounters[struct {
		Faults      map[string]uint64 `json:"faults"`
		Retransmits map[string]uint64 `json:"retransmits"`
	}](t, d)
	return c.Faults, c.Retransmits
}

// curlPort runs curl to the stack's HTTP on port with extra options.
func curlPort(t *testing.T, d *daemon, port int, opts ...string) result {
	t.Helper()
	args := append([]string{"curl", "-sS", "-v", "-o", "/dev/null"}, opts...)
	args = append(args, fmt.Sprintf("http://%s:%d/", stackIPv4, port))
	return runIn(t, d.ns, nil, args...)
}

// wantCurl checks curl's exit code.
func wantCurl(t *testing.T, r result, code int, what string) {
	t.Helper()
	if r.exitCode != code {
		t.Fatalf("%s: want curl exit %d: %v", what, code, r)
	}
}

// removed checks that the port works again once the fault is gone.
func removed(t *testing.T, d *daemon, port int, name string) {
	t.Helper()
	d.fault(t, "rm", name)
	wantCurl(t, curlPort(t, d, port, "--max-time", "10"), 0, "after the fault was removed")
}

// echoThrough sends n random bytes to the echo service on port with nc -N
// and checks that they all come back; it returns how long it took.
func echoThrough(t *testing.T, d *daemon, port, n int, timeout string) time.Duration {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	r := runIn(t, d.ns, data, "timeout", timeout, "nc", "-N", stackIPv4, strconv.Itoa(port))
	if r.err != nil || !bytes.Equal([]byte(r.stdout), data) {
		t.Fatalf("echo of %d bytes through port %d: got %d bytes back: exit %d %v %s", n, port, len(r.stdout), r.exitCode, r.err, r.stderr)
	}
	return r.elapsed
}

func TestFaults(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startFaultDaemon(t)

	// loss runs alone, before the others start (they are parallel), so
	// that the stack's retransmissions while it runs are its own.
	t.Run("loss", func(t *testing.T) {
		_, before := d.faultCounters(t)
		d.fault(t, "add", "8101", "loss", "percent=5", "--stream", "both")
		echoThrough(t, d, 8101, 1<<20, "60")
		faults, after := d.faultCounters(t)
		var retransmitted uint64
		for kind, n := range after {
			retransmitted += n - before[kind]
		}
		if faults["fault:loss"] == 0 || retransmitted == 0 {
			t.Errorf("loss 5%%: %d segments dropped, %d retransmitted (%v), want both", faults["fault:loss"], retransmitted, after)
		}
		d.fault(t, "rm", "loss_both")
		echoThrough(t, d, 8101, 1000, "10")
	})

	t.Run("refuse", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8001", "refuse")
		r := curlPort(t, d, 8001, "--max-time", "10")
		wantCurl(t, r, 7, "refuse")
		if r.elapsed > 3*time.Second || !strings.Contains(r.stderr, "Connection refused") {
			t.Errorf("refuse: want connection refused at once: %v", r)
		}
		removed(t, d, 8001, "refuse_downstream")
	})

	t.Run("drop_syn", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8002", "drop_syn", "count=2")
		r := curlPort(t, d, 8002, "--max-time", "20")
		wantCurl(t, r, 0, "drop_syn count=2")
		// The kernel's two SYN retransmissions come 1 s apart since
		// Linux 6.5 (tcp_syn_linear_timeouts, 4 by default), after 1 s
		// and 2 s more before it: 2 or 3 s.
		if r.elapsed < 1800*time.Millisecond || r.elapsed > 10*time.Second {
			t.Errorf("drop_syn count=2: curl took %v, want 2 to 3 s (two SYN retransmissions)", r.elapsed)
		}
		removed(t, d, 8002, "drop_syn_downstream")
	})

	t.Run("blackhole", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8003", "blackhole")
		r := curlPort(t, d, 8003, "--max-time", "3")
		wantCurl(t, r, 28, "blackhole")
		if !strings.Contains(r.stderr, "Connected to") || strings.Contains(r.stderr, "reset") {
			t.Errorf("blackhole: want a connection that then hears nothing, no reset: %v", r)
		}
		removed(t, d, 8003, "blackhole_downstream")
	})

	t.Run("reset_peer", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8004", "reset_peer")
		r := curlPort(t, d, 8004, "--max-time", "10")
		wantCurl(t, r, 56, "reset_peer")
		if !strings.Contains(r.stderr, "reset") {
			t.Errorf("reset_peer: want reset by peer: %v", r)
		}
		removed(t, d, 8004, "reset_peer_downstream")
	})

	t.Run("forget", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8005", "forget")
		r := curlPort(t, d, 8005, "--max-time", "10")
		wantCurl(t, r, 56, "forget: the request meets a RST")
		removed(t, d, 8005, "forget_downstream")
	})

	t.Run("latency", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8006", "latency", "latency=300ms", "--stream", "downstream")
		r := curlPort(t, d, 8006, "--max-time", "10")
		wantCurl(t, r, 0, "latency")
		// The SYN-ACK and the response each wait 300 ms.
		if r.elapsed < 550*time.Millisecond {
			t.Errorf("latency 300ms: curl took %v, want at least 600 ms", r.elapsed)
		}
		removed(t, d, 8006, "latency_downstream")
	})

	t.Run("delay_synack", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8007", "delay_synack", "delay=1500ms")
		r := curlPort(t, d, 8007, "--max-time", "10", "-w", "%{time_connect}")
		wantCurl(t, r, 0, "delay_synack")
		if r.elapsed < 1400*time.Millisecond {
			t.Errorf("delay_synack 1500ms: curl took %v", r.elapsed)
		}
		removed(t, d, 8007, "delay_synack_downstream")
	})

	t.Run("accept_hold", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8008", "accept_hold", "delay=1500ms")
		r := curlPort(t, d, 8008, "--max-time", "10", "-w", "connect=%{time_connect}")
		wantCurl(t, r, 0, "accept_hold")
		connect, _ := strconv.ParseFloat(strings.TrimPrefix(r.stdout, "connect="), 64)
		if r.elapsed < 1400*time.Millisecond || connect > 1 {
			t.Errorf("accept_hold 1500ms: connected after %gs, done after %v; want the connect at once, the answer after 1.5 s", connect, r.elapsed)
		}
		removed(t, d, 8008, "accept_hold_downstream")
	})

	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8009", "timeout", "timeout=1s", "--stream", "upstream")
		r := curlPort(t, d, 8009, "--max-time", "10")
		wantCurl(t, r, 56, "timeout: the request is lost, then the connection is reset")
		if r.elapsed < 900*time.Millisecond {
			t.Errorf("timeout 1s: reset after %v", r.elapsed)
		}
		removed(t, d, 8009, "timeout_upstream")
	})

	t.Run("limit_data", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8010", "limit_data", "bytes=100")
		r := curlPort(t, d, 8010, "--max-time", "10")
		wantCurl(t, r, 56, "limit_data: 100 bytes, then a reset")
		removed(t, d, 8010, "limit_data_downstream")
	})

	t.Run("rst_after", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8011", "rst_after", "after=1s")
		// An idle connection is reset a second after it opened.
		r := runIn(t, d.ns, nil, "timeout", "10", "nc", stackIPv4, "8011")
		if r.exitCode == 124 || r.elapsed < 900*time.Millisecond {
			t.Errorf("rst_after 1s: nc should end about a second after connecting: %v", r)
		}
		removed(t, d, 8011, "rst_after_downstream")
	})

	t.Run("duplicate and reorder", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8102", "duplicate", "percent=20", "--stream", "both")
		d.fault(t, "add", "8102", "reorder", "percent=20", "delay=5ms", "--stream", "both")
		echoThrough(t, d, 8102, 1<<20, "60")
		counts := d.faultCounts(t)
		if counts["fault:duplicate"] == 0 || counts["fault:reorder"] == 0 {
			t.Errorf("duplicate and reorder: counts %v", counts)
		}
		d.fault(t, "rm", "duplicate_both", "reorder_both")
	})

	t.Run("bandwidth", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8103", "bandwidth", "rate=100")
		elapsed := echoThrough(t, d, 8103, 200<<10, "30")
		// 200 KiB back at 100 KB/s: two seconds.
		if elapsed < 1800*time.Millisecond {
			t.Errorf("bandwidth 100 KB/s: 200 KiB came back in %v", elapsed)
		}
		d.fault(t, "rm", "bandwidth_downstream")
	})

	t.Run("slow_close", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8104", "slow_close", "delay=1s")
		if elapsed := echoThrough(t, d, 8104, 10, "10"); elapsed < 900*time.Millisecond {
			t.Errorf("slow_close 1s: nc ended after %v", elapsed)
		}
		d.fault(t, "rm", "slow_close_downstream")
	})

	t.Run("slicer", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8105", "slicer", "size=100", "size_variation=50")
		checkSlices(t, d, 8105, 100, 50)
		if n := d.faultCounts(t)["fault:slicer"]; n == 0 {
			t.Error("slicer: no segment was sliced")
		}
		d.fault(t, "rm", "slicer_downstream")
	})

	t.Run("mss", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8106", "mss", "size=500", "--stream", "both")
		checkMSSClamp(t, d, 8106, 500)
		if n := d.faultCounts(t)["fault:mss"]; n < 2 {
			t.Errorf("mss: %d SYNs clamped, want both", n)
		}
		d.fault(t, "rm", "mss_both")
	})

	t.Run("zero_window", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8107", "zero_window")
		data := make([]byte, 1<<20)
		r := runIn(t, d.ns, data, "timeout", "3", "nc", "-N", stackIPv4, "8107")
		if r.exitCode != 124 {
			t.Errorf("zero_window: a 1 MiB upload should stall: %v", r)
		}
		d.fault(t, "rm", "zero_window_downstream")
		echoThrough(t, d, 8107, 1<<20, "30")
	})

	t.Run("hang_close", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8108", "hang_close")
		stdin, feed := pipe(t)
		name, args := inNamespace(d.ns, "nc", "-N", stackIPv4, "8108")
		nc := startProcess(t, stdin, name, args...)
		feed.WriteString("hi")
		feed.Close() // nc -N sends its FIN; echo answers and closes, but its FIN never comes
		testkit.WaitFor(t, 10*time.Second, "the client in FIN-WAIT-2", func() (bool, string) {
			sockets := kernelSockets(t, d.ns)
			_, ok := findSocket(sockets, kernelSocket{State: "FIN-WAIT-2", Peer: stackIPv4 + ":8108"})
			return ok, describeSockets(sockets)
		})
		if nc.exited() || nc.stdout.String() != "hi" {
			t.Fatalf("hang_close: nc should have its echo and wait for the FIN: %s", nc.output())
		}
		d.fault(t, "rm", "hang_close_downstream")
		// The engine sends its FIN again, and now it leaves.
		if !nc.wait(20 * time.Second) {
			t.Error("hang_close removed: nc did not get the FIN")
		}
	})

	t.Run("slow_read", func(t *testing.T) {
		t.Parallel()
		d.fault(t, "add", "8109", "slow_read", "size=2000")
		stdin, feed := pipe(t)
		defer feed.Close()
		name, args := inNamespace(d.ns, "nc", stackIPv4, "8109")
		startProcess(t, stdin, name, args...)
		feed.WriteString("hello")
		testkit.WaitFor(t, 10*time.Second, "the client's send window at most 2000", func() (bool, string) {
			out := runIn(t, d.ns, nil, "ss", "-Htin", "dst", stackIPv4+":8109").stdout
			m := sndWndRE.FindStringSubmatch(out)
			if m == nil {
				return false, out
			}
			n, _ := strconv.Atoi(m[1])
			return n > 0 && n <= 2000, out
		})
		d.fault(t, "rm", "slow_read_downstream")
	})
}

var sndWndRE = regexp.MustCompile(`snd_wnd:(\d+)`)
