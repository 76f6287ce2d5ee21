package tests

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// observeMSL keeps the HTTP connection in TIME-WAIT for 4 s: long enough
// for ss to see it there, short enough to watch it end.
const observeMSL = "2s"

// ssConn is the part of `tunstack ss --json` the test reads
// (ConnStatus in cmd/tunstack/internal/control defines the whole of it).
type ssConn struct {
	Local  string     `json:"local"`
	Remote string     `json:"remote"`
	State  string     `json:"state"`
	States []string   `json:"states"`
	Age    string     `json:"age"`
	Since  *time.Time `json:"since"`
	RTO    string     `json:"rto"`
	MSS    int        `json:"mss"`
	Timers []struct {
		Name string `json:"name"`
		Left string `json:"left"`
	} `json:"timers"`
}

func (c ssConn) String() string {
	return fmt.Sprintf("%s %s -> %s age %s timers %v", c.State, c.Local, c.Remote, c.Age, c.Timers)
}

// traceEvent is the part of a `tunstack trace --json` line the test reads
// (Event in cmd/tunstack/internal/control defines the whole of it).
type traceEvent struct {
	Kind   string `json:"kind"`
	Local  string `json:"local"`
	Remote string `json:"remote"`
	State  string `json:"state"`
	From   string `json:"from"`
	To     string `json:"to"`
	Reason string `json:"reason"`
	Rule   string `json:"rule"`
	Why    string `json:"why"`
	Seg    *struct {
		Flags  string  `json:"flags"`
		Seq    uint32  `json:"seq"`
		RelSeq *uint32 `json:"rel_seq"`
		RelAck *uint32 `json:"rel_ack"`
		Len    int     `json:"len"`
	} `json:"seg"`
}

// TestObserveSSAndTrace watches an HTTP and an echo session with ss and trace:
// during them, `tunstack ss --json` shows both connections with their
// states and timers (echo's held open in ESTABLISHED, HTTP's in TIME-WAIT
// with its 2MSL timer running); afterwards, `tunstack trace --json`,
// started before them, holds the exact handshake and teardown of each, with
// the reason of every transition.
func TestObserveSSAndTrace(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t, "--msl", observeMSL)
	bin := tunstackBinary(t)

	trace := startProcess(t, nil, bin, "trace", "--control", d.control, "--json")
	testkit.WaitFor(t, 10*time.Second, "trace to watch", func() (bool, string) {
		if trace.exited() {
			t.Fatalf("trace exited: %s", trace.output())
		}
		return strings.Contains(trace.stderr.String(), "watching"), trace.output()
	})

	// nc stays connected to the echo service while its input is open.
	stdin, feed := pipe(t)
	name, args := inNamespace(d.ns, "nc", "-N", stackIPv4, "7")
	nc := startProcess(t, stdin, name, args...)
	stdin.Close()
	if _, err := feed.WriteString("hello\n"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "nc's echo", func() (bool, string) {
		return nc.stdout.String() == "hello\n", nc.output()
	})

	// The HTTP service answers an HTTP/1.0 request by closing first: the
	// stack's end waits out 2MSL in TIME-WAIT. nc without -N keeps its
	// end open until the server's FIN has come (curl closes as soon as it
	// has the body, and on a busy machine its FIN can overtake ours), and
	// -p fixes its port so that ss and the trace can find the connection.
	const httpClientPort = "45678"
	httpClient := runIn(t, d.ns, []byte("GET / HTTP/1.0\r\nHost: "+stackIPv4+"\r\n\r\n"),
		"nc", "-w", "10", "-p", httpClientPort, stackIPv4, "80")
	if httpClient.err != nil || !strings.HasPrefix(httpClient.stdout, "HTTP/1.0 200 OK") {
		t.Fatalf("HTTP request with nc: %v", httpClient)
	}
	httpEnd := kernelIPv4 + ":" + httpClientPort
	ncEnd := ""

	var seen []ssConn
	testkit.WaitFor(t, 5*time.Second, "ss to show nc's connection ESTABLISHED and the HTTP one in TIME-WAIT with its timer", func() (bool, string) {
		r := run(t, nil, bin, "ss", "--control", d.control, "--json")
		if r.err != nil {
			t.Fatalf("tunstack ss --json: %v", r)
		}
		seen = nil
		if err := json.Unmarshal([]byte(r.stdout), &seen); err != nil {
			t.Fatalf("tunstack ss --json printed %q: %v", r.stdout, err)
		}
		var nc, http bool
		for _, c := range seen {
			switch {
			case c.Local == stackIPv4+":7" && c.State == "ESTABLISHED":
				nc, ncEnd = true, c.Remote
			case c.Remote == httpEnd && c.State == "TIME-WAIT":
				http = len(c.Timers) > 0 && c.Timers[0].Name == "time-wait" && c.Timers[0].Left != "0s"
			}
		}
		return nc && http, fmt.Sprint(seen)
	})
	for _, c := range seen {
		if c.Since == nil || c.Age == "" || len(c.States) == 0 {
			t.Errorf("ss shows %v without its age or states", c)
		}
		// A connection in TIME-WAIT may have shrunk to a record that
		// keeps only what TIME-WAIT needs.
		if c.State != "TIME-WAIT" && (c.RTO == "" || c.MSS == 0 || len(c.States) < 3) {
			t.Errorf("ss shows %v without its RTO, MSS or the states it went through", c)
		}
	}

	feed.Close() // nc half-closes; the echo service closes after it
	if !nc.wait(5 * time.Second) {
		t.Fatalf("nc still running after its input ended\n%s", nc.output())
	}
	byConn := map[string][]traceEvent{}
	testkit.WaitFor(t, 15*time.Second, "trace to record both connections closing", func() (bool, string) {
		byConn = map[string][]traceEvent{}
		for _, line := range strings.Split(strings.TrimSpace(trace.stdout.String()), "\n") {
			var e traceEvent
			if line == "" {
				continue
			}
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("trace --json line %q: %v", line, err)
			}
			byConn[e.Remote] = append(byConn[e.Remote], e)
		}
		return closed(byConn[httpEnd]) && closed(byConn[ncEnd]), trace.output()
	})
	trace.cmd.Process.Signal(syscall.SIGINT)
	if !trace.wait(5*time.Second) || trace.exitCode() != 0 {
		t.Errorf("trace did not end cleanly on SIGINT: %s", trace.output())
	}

	t.Run("http", func(t *testing.T) {
		events := byConn[httpEnd]
		opening := []string{
			"CLOSED>LISTEN:open-passive",
			"LISTEN>SYN-RECEIVED:listen-syn",
			"SYN-RECEIVED>ESTABLISHED:synrcvd-ack",
			"ESTABLISHED>FIN-WAIT-1:close",
		}
		// The client closes once it has our FIN: it acknowledges our
		// FIN, with its own or before it (RFC 9293 Figure 12).
		checkTransitions(t, events, append(opening,
			"FIN-WAIT-1>FIN-WAIT-2:fin-acked",
			"FIN-WAIT-2>TIME-WAIT:fin-in-finwait2",
			"TIME-WAIT>CLOSED:2msl-expired"))
		checkHandshake(t, events)
		// Teardown: our FIN first, then the client's, then our ACK of it.
		fins := segmentsWith(events, "FIN")
		if len(fins) != 2 || fins[0].Kind != "segment-out" || fins[1].Kind != "segment-in" {
			t.Fatalf("FIN segments %+v, want ours and then the client's", fins)
		}
		checkLastACK(t, events, fins[1])
	})
	t.Run("nc", func(t *testing.T) {
		events := byConn[ncEnd]
		checkTransitions(t, events, []string{
			"CLOSED>LISTEN:open-passive",
			"LISTEN>SYN-RECEIVED:listen-syn",
			"SYN-RECEIVED>ESTABLISHED:synrcvd-ack",
			"ESTABLISHED>CLOSE-WAIT:fin",
			"CLOSE-WAIT>LAST-ACK:close",
			"LAST-ACK>CLOSED:last-ack-done",
		})
		checkHandshake(t, events)
		fins := segmentsWith(events, "FIN")
		if len(fins) != 2 || fins[0].Kind != "segment-in" || fins[1].Kind != "segment-out" {
			t.Fatalf("FIN segments %+v, want nc's and then ours", fins)
		}
	})
}

// closed reports whether a connection's events reach CLOSED.
func closed(events []traceEvent) bool {
	for _, e := range events {
		if e.Kind == "state" && e.To == "CLOSED" {
			return true
		}
	}
	return false
}

// checkTransitions compares the state changes with want ("FROM>TO:reason")
// and checks that each names its RFC rule and says why.
func checkTransitions(t *testing.T, events []traceEvent, want []string) {
	t.Helper()
	var got []string
	for _, e := range events {
		if e.Kind != "state" {
			continue
		}
		got = append(got, e.From+">"+e.To+":"+e.Reason)
		if !strings.HasPrefix(e.Rule, "rfc") || e.Why == "" {
			t.Errorf("%s → %s has rule %q and why %q", e.From, e.To, e.Rule, e.Why)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("state changes (-want +got):\n%s", diff)
	}
}

// checkHandshake checks the first three segments: SYN in at the client's
// ISN, SYN-ACK out at ours acknowledging it, ACK in acknowledging ours.
func checkHandshake(t *testing.T, events []traceEvent) {
	t.Helper()
	var segs []traceEvent
	for _, e := range events {
		if e.Seg != nil && (e.Kind == "segment-in" || e.Kind == "segment-out") {
			segs = append(segs, e)
		}
	}
	want := []string{"in SYN seq=0", "out SYN|ACK seq=0 ack=1", "in ACK seq=1 ack=1"}
	var got []string
	for _, e := range segs[:min(3, len(segs))] {
		s := strings.TrimPrefix(e.Kind, "segment-") + " " + e.Seg.Flags + " seq=" + relative(e.Seg.RelSeq)
		if strings.Contains(e.Seg.Flags, "ACK") {
			s += " ack=" + relative(e.Seg.RelAck)
		}
		got = append(got, s)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("handshake (-want +got):\n%s", diff)
	}
	if len(segs) > 0 && segs[0].State != "LISTEN" {
		t.Errorf("the SYN met %s, want LISTEN", segs[0].State)
	}
}

// checkLastACK checks that the stack's last segment acknowledges the
// peer's FIN.
func checkLastACK(t *testing.T, events []traceEvent, peerFIN traceEvent) {
	t.Helper()
	var last *traceEvent
	for i := range events {
		if events[i].Kind == "segment-out" {
			last = &events[i]
		}
	}
	if last == nil || !acks(*last, peerFIN) || last.Seg.Flags != "ACK" {
		t.Errorf("last segment out %+v does not acknowledge the peer's FIN %+v", last, peerFIN)
	}
}

// acks reports whether segment a acknowledges segment b's FIN.
func acks(a, b traceEvent) bool {
	return a.Seg.RelAck != nil && b.Seg.RelSeq != nil && *a.Seg.RelAck == *b.Seg.RelSeq+uint32(b.Seg.Len)+1
}

// segmentsWith returns the segments in and out that carry flag.
func segmentsWith(events []traceEvent, flag string) []traceEvent {
	var out []traceEvent
	for _, e := range events {
		if e.Seg != nil && (e.Kind == "segment-in" || e.Kind == "segment-out") && strings.Contains(e.Seg.Flags, flag) {
			out = append(out, e)
		}
	}
	return out
}

func relative(v *uint32) string {
	if v == nil {
		return "?"
	}
	return fmt.Sprint(*v)
}
