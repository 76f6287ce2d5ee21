package crosscheck

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// The player must catch every way a stack can differ from a script, on
// both implementations; a runner that passes anything proves nothing.
func TestPlayDetectsMismatches(t *testing.T) {
	const handshake = `# t
rfc: RFC 9293
user open passive
in  SYN seq=0 mss=1460
out SYN-ACK seq=0 ack=1
after 100ms
in  ACK seq=1 ack=1
`
	// Both ends offer SACK and timestamps; the peer's data "hi" is in.
	const optionsHandshake = `# t
rfc: RFC 7323
user open passive
in  SYN seq=0 mss=1460 sackok ts=100:0
out SYN-ACK seq=0 ack=1 sackok ts=*:100
after 100ms
in  ACK seq=1 ack=1 ts=100:last
in  ACK seq=1 ack=1 data="hi" ts=101:last
`
	tests := []struct {
		name, script, want string // want "" means the script passes
	}{
		{"passes", handshake + "state ESTABLISHED\nin ACK seq=1 ack=1 data=\"hi\"\nout ACK seq=1 ack=3\n", ""},
		{"wrong ack", handshake + "in ACK seq=1 ack=1 data=\"hi\"\nout ACK seq=1 ack=2\n", "ack 3, want 2"},
		{"wrong seq", handshake + "in ACK seq=1 ack=1 data=\"hi\"\nout ACK seq=5 ack=3\n", "seq 1, want 5"},
		{"wrong flags", handshake + "in ACK seq=1 ack=1 data=\"hi\"\nout FIN-ACK seq=1 ack=3\n", "flags ACK, want FIN-ACK"},
		{"wrong data", handshake + "user send \"abc\"\nout ACK seq=1 ack=1 data=\"abd\"\n", `data "abc", want "abd"`},
		{"data where none expected", handshake + "user send \"abc\"\nout ACK seq=1 ack=1\n", "len 3, want 0"},
		{"nothing sent", handshake + "out ACK seq=1 ack=1\n", "sent nothing"},
		{"unexpected segment", handshake + "in ACK seq=1 ack=1 data=\"hi\"\nin ACK seq=3 ack=1\n", "unexpected segment"},
		{"sent when nothing expected", handshake + "in ACK seq=1 ack=1 data=\"hi\"\nout nothing\n", "the stack sent ACK"},
		{"left over at the end", handshake + "in ACK seq=1 ack=1 data=\"hi\"\n", "no out line expects it"},
		{"wrong state", handshake + "state CLOSE-WAIT\n", "state ESTABLISHED, want CLOSE-WAIT"},
		{"wrong error", handshake + "in RST seq=1\nerror timeout\n", "error reset, want timeout"},
		{"wrong read", handshake + "in ACK seq=1 ack=1 data=\"hi\"\nout ACK seq=1 ack=3\nuser read \"ho\"\n", `read "hi", want "ho"`},
		{"call should fail", handshake + "user send \"x\" fails\n", "want it to fail"},
		{"sack-permitted where none", handshake + "in ACK seq=1 ack=1 data=\"hi\"\nout ACK seq=1 ack=3 sackok\n", "SACK-permitted false, want true"},
		{"timestamps where none", handshake + "in ACK seq=1 ack=1 data=\"hi\"\nout ACK seq=1 ack=3 ts=*:0\n", "no timestamps, want ts=*:0"},
		{"absent option present", optionsHandshake + "out ACK seq=1 ack=3 nots\n", "want no timestamps"},
		{"wrong echo", optionsHandshake + "out ACK seq=1 ack=3 ts=*:99\n", "want ts=*:99"},
		{"options pass", optionsHandshake + "out ACK seq=1 ack=3 ts=*:101 nosack\nin ACK seq=11 ack=1 data=\"x\" ts=102:last\nout ACK seq=1 ack=3 sack=11-12 ts=*:101\n", ""},
		{"wrong sack", optionsHandshake + "out ACK seq=1 ack=3\nin ACK seq=11 ack=1 data=\"x\" ts=102:last\nout ACK seq=1 ack=3 sack=11-13\n", "sack=11-12, want sack=11-13"},
		{"sack where none", optionsHandshake + "out ACK seq=1 ack=3\nin ACK seq=11 ack=1 data=\"x\" ts=102:last\nout ACK seq=1 ack=3 nosack\n", "want no SACK blocks"},
		{"late timer", handshake + "user send \"x\"\nout ACK seq=1 ack=1 data=\"x\"\nafter 299ms\nout ACK seq=1 ack=1 data=\"x\"\n", "sent nothing"},
	}
	for _, tt := range tests {
		sc, err := Parse(tt.name, tt.script)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		engines := map[string]func() (Engine, error){
			"tunstack": func() (Engine, error) { return NewTunstack(sc), nil },
			"gvisor":   func() (Engine, error) { return NewGVisor(sc) },
		}
		for name, newEngine := range engines {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				e, err := newEngine()
				if err != nil {
					t.Fatal(err)
				}
				defer e.Release()
				err = Play(sc, e, name == "gvisor")
				switch {
				case tt.want == "" && err != nil:
					t.Fatalf("script failed: %v", err)
				case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
					t.Fatalf("error %v, want one containing %q", err, tt.want)
				case tt.want != "" && !errors.Is(err, ErrMismatch):
					t.Fatalf("error %v does not wrap ErrMismatch", err)
				}
			})
		}
	}
}

// TestPlayDetectsIllegalTransitions: a state change off RFC 9293's
// Figure 5 fails the scenario, whatever the script expects.
func TestPlayDetectsIllegalTransitions(t *testing.T) {
	sc, err := Parse("t", "# t\nrfc: RFC 9293\nuser open passive\nin  SYN seq=0 mss=1460\nout SYN-ACK seq=0 ack=1\n")
	if err != nil {
		t.Fatal(err)
	}
	e := NewTunstack(sc).(*tunstackEngine)
	if err := Play(sc, e, false); err != nil {
		t.Fatalf("the handshake fails: %v", err)
	}
	e = NewTunstack(sc).(*tunstackEngine)
	e.StateChange(e.conn, tcp.Established, tcp.Listen, nil, tcp.ReasonRSTReset) // as a broken engine would
	if err := Play(sc, e, false); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("Play = %v, want ErrIllegalTransition", err)
	}
}

// TestLongMSLIsVirtual: a TIME-WAIT of 2 x 2 minutes takes milliseconds
// of real time on tunstack's engine (which never waits) and little more on
// gVisor's (which waits only for its own goroutines).
func TestLongMSLIsVirtual(t *testing.T) {
	sc, err := Parse("msl", `# t
rfc: RFC 9293 §3.10.8
config: msl=2m
user open active
out SYN seq=0
in  SYN-ACK seq=0 ack=1
out ACK seq=1 ack=1
user shutdown
out FIN-ACK seq=1 ack=1
in  FIN-ACK seq=1 ack=2
out ACK seq=2 ack=2
state TIME-WAIT
after 3m59s
state TIME-WAIT
after 1s
state CLOSED
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, gvisor := range []bool{false, true} {
		var e Engine = NewTunstack(sc)
		if gvisor {
			if e, err = NewGVisor(sc); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		err := Play(sc, e, gvisor)
		e.Release()
		if err != nil {
			t.Fatal(err)
		}
		limit := 100 * time.Millisecond
		if gvisor {
			limit = 2 * time.Second
		}
		if d := time.Since(start); d > limit {
			t.Errorf("gvisor=%v: 4 minutes of TIME-WAIT took %v of real time, want under %v", gvisor, d, limit)
		}
	}
}
