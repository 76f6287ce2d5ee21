package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// statusReply is the part of the control socket's status reply the tests
// read (package cmd/tunstack/internal/control defines the whole of it).
type statusReply struct {
	OK          bool             `json:"ok"`
	Error       string           `json:"error"`
	Connections []stackConnState `json:"connections"`
}

// stackConnState is one of the stack's connections as the daemon reports it.
type stackConnState struct {
	Local  string   `json:"local"`
	Remote string   `json:"remote"`
	State  string   `json:"state"`
	States []string `json:"states"` // every state it passed through, in order
}

func (c stackConnState) String() string {
	return fmt.Sprintf("%s %s -> %s via %s", c.State, c.Local, c.Remote, strings.Join(c.States, ","))
}

// statusLine sends the status op to a control socket and returns the
// daemon's one-line JSON reply.
func statusLine(control string) ([]byte, error) { return controlLine(control, "status") }

// controlLine sends op (status, memstats) to a control socket and returns
// the daemon's one-line JSON reply.
func controlLine(control, op string) ([]byte, error) {
	conn, err := net.DialTimeout("unix", control, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(conn, "{\"op\":%q}\n", op); err != nil {
		return nil, fmt.Errorf("%s request: %w", op, err)
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("%s reply: %w (read %q)", op, err, line)
	}
	return line, nil
}

// statusCounters asks the daemon for its status and decodes the reply's
// "counters" into a T: each test names the counters it reads.
func statusCounters[T any](t *testing.T, d *daemon) T {
	t.Helper()
	line, err := statusLine(d.control)
	if err != nil {
		t.Fatal(err)
	}
	var reply struct {
		OK       bool   `json:"ok"`
		Error    string `json:"error"`
		Counters T      `json:"counters"`
	}
	if err := json.Unmarshal(line, &reply); err != nil || !reply.OK {
		t.Fatalf("status reply %.200q: %v %s", line, err, reply.Error)
	}
	return reply.Counters
}

// status asks the daemon for its connections.
func (d *daemon) status(t *testing.T) statusReply {
	t.Helper()
	line, err := statusLine(d.control)
	if err != nil {
		t.Fatal(err)
	}
	var reply statusReply
	if err := json.Unmarshal(line, &reply); err != nil {
		t.Fatalf("status reply %q: %v", line, err)
	}
	if !reply.OK {
		t.Fatalf("status reply: %q", reply.Error)
	}
	return reply
}

// connection returns the stack's connection with the given remote end, if
// the daemon still lists it.
func (r statusReply) connection(remote string) (stackConnState, bool) {
	for _, c := range r.Connections {
		if c.Remote == remote {
			return c, true
		}
	}
	return stackConnState{}, false
}

func (r statusReply) String() string {
	var b strings.Builder
	for _, c := range r.Connections {
		b.WriteString("\n  " + c.String())
	}
	if b.Len() == 0 {
		return "(no connections)"
	}
	return b.String()
}

// containsInOrder reports whether want appears in got as a subsequence.
func containsInOrder(got, want []string) bool {
	i := 0
	for _, s := range got {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}
