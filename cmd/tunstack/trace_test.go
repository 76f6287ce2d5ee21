package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/clitest"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/tests/testkit"
)

// runningTrace is `tunstack trace` running in the test.
type runningTrace struct {
	stdout, stderr testkit.Buffer
	exited         chan struct{} // closed when it has returned code
	code           int
}

// startTrace runs `tunstack trace args...` until it ends or the test
// does, and waits until it watches: from then on it misses nothing.
func startTrace(t *testing.T, args ...string) *runningTrace {
	t.Helper()
	r := &runningTrace{exited: make(chan struct{})}
	c := newCLI(strings.NewReader(""), &r.stdout, &r.stderr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	go func() {
		defer close(r.exited)
		r.code = c.run(ctx, append([]string{"trace"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		<-r.exited
	})
	testkit.Eventually(t, "trace to watch", func() bool {
		select {
		case <-r.exited:
			t.Fatalf("trace exited %d: %s", r.code, r.stderr.String())
		default:
		}
		return strings.Contains(r.stderr.String(), "watching")
	})
	return r
}

// TestTraceOverRealStack traces a connection to a real stack's discard
// service three ways at once: text, JSON, and a ladder with its SVG.
func TestTraceOverRealStack(t *testing.T) {
	pair := clitest.NewStackPair(t)
	ln, err := pair.Ours.Listen("tcp", ":9")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go stack.ServeDiscard(ln)
	path, _ := clitest.ServeControl(t, control.StackBackend{Stack: pair.Ours})
	svg := filepath.Join(t.TempDir(), "ladder.svg")

	text := startTrace(t, "--control", path, "--sport", "9", "--count", "3")
	jsonOut := startTrace(t, "--control", path, "--json", "--port", "9")
	ladderOut := startTrace(t, "--control", path, "--ladder", "--svg", svg, "--count", "1")
	other := startTrace(t, "--control", path, "--dport", "9") // the peer's port is not 9: nothing

	c := pair.DialFromPeer(t, "10.77.0.2:9")
	io.WriteString(c, "hello")
	c.Close()

	select {
	case <-ladderOut.exited:
		if ladderOut.code != exitOK {
			t.Fatalf("trace --ladder exited %d: %s", ladderOut.code, ladderOut.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("trace --ladder --count 1 did not end; printed:\n%s", ladderOut.stdout.String())
	}
	for _, want := range []string{"tunstack is the server", "--- SYN seq=x", "<-- SYN-ACK seq=y ack=x+1", "LAST-ACK", "TIME-WAIT~", "RFC 9293 §3.10.7.4: ACK of our FIN in LAST-ACK: delete TCB"} {
		if !strings.Contains(ladderOut.stdout.String(), want) {
			t.Errorf("ladder lacks %q:\n%s", want, ladderOut.stdout.String())
		}
	}
	f, err := os.Open(svg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for dec := xml.NewDecoder(f); ; {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s is not well-formed: %v", svg, err)
		}
	}

	testkit.Eventually(t, "the JSON trace to reach CLOSED", func() bool { return strings.Contains(jsonOut.stdout.String(), `"to":"CLOSED"`) })
	var states []string
	for _, line := range strings.Split(strings.TrimSpace(jsonOut.stdout.String()), "\n") {
		var e control.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("JSON line %q: %v", line, err)
		}
		if e.Kind == control.KindState {
			states = append(states, e.From+">"+e.To+":"+e.Reason)
		}
	}
	want := []string{"CLOSED>LISTEN:open-passive", "LISTEN>SYN-RECEIVED:listen-syn", "SYN-RECEIVED>ESTABLISHED:synrcvd-ack",
		"ESTABLISHED>CLOSE-WAIT:fin", "CLOSE-WAIT>LAST-ACK:close", "LAST-ACK>CLOSED:last-ack-done"}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("state changes (-want +got):\n%s", diff)
	}
	<-text.exited // --count 3
	if lines := text.stdout.String(); text.code != exitOK || strings.Count(lines, "\n") != 3 ||
		!strings.Contains(lines, "in    10.77.0.1:") || !strings.Contains(lines, "SYN seq=0 (") {
		t.Errorf("text trace (exit %d):\n%s", text.code, lines)
	}
	if out := other.stdout.String(); out != "" {
		t.Errorf("trace --dport 9 printed events of a connection from another port:\n%s", out)
	}
}
