package crosscheck

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tunstack/tunstack/stack/tcp"
)

func TestParseScenario(t *testing.T) {
	sc, err := Parse("example", `# A title
rfc: RFC 9293 §3.10.7.2
config: msl=2m rto-min=1s delayed-ack=40ms rfc1337=off peer-isn=7
config: sack=off timestamps=off rack=on congestion=newreno invalid-ratelimit=500ms

user open passive
in  SYN seq=0 win=1000 mss=1460 ws=7
out SYN-ACK seq=0 ack=1    # a comment
gvisor: out RST seq=abs:0  # RFC 9293 §3.10.7.2: why gVisor differs
gvisor: state CLOSED       # RFC 9293: and its state
in  FIN+PSH+ACK seq=1 ack=1 data="a #b \"c\""
in  none seq=-3 len=10
after 1.5s
user send len=3 fails
user read eof
state TIME-WAIT
error reset
`)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Title != "A title" || len(sc.Rules) != 1 || sc.Active {
		t.Fatalf("header: %+v", sc)
	}
	want := Config{
		MSL: 2 * time.Minute, MinRTO: time.Second, MaxRTO: 60 * time.Second,
		SynRetries: 6, SynAckRetries: 5, DataRetries: 15, FinWait2Timeout: 60 * time.Second,
		DelayedACK: 40 * time.Millisecond, RFC1337: false, PeerISN: 7, ISS: 5_000_000,
		KeepAliveInterval: 75 * time.Second, KeepAliveCount: 9,
		SACK: false, Timestamps: false, RACK: true, Congestion: "newreno", InvalidRateLimit: 500 * time.Millisecond,
	}
	if sc.Config != want {
		t.Fatalf("config %+v, want %+v", sc.Config, want)
	}
	if len(sc.Steps) != 10 {
		t.Fatalf("%d steps, want 10", len(sc.Steps))
	}
	syn := sc.Steps[1].Seg
	if syn.Flags != tcp.FlagSYN || syn.Win != 1000 || syn.MSS != 1460 || syn.WS != 7 || syn.Seq != (Number{Set: true}) {
		t.Fatalf("SYN %+v", syn)
	}
	out := sc.Steps[2]
	if out.Kind != StepOut || len(out.GVisor) != 2 || !strings.Contains(out.Cite, "why gVisor differs") {
		t.Fatalf("out with gvisor lines: %+v", out)
	}
	if g := out.GVisor[0].Seg; g.Flags != tcp.FlagRST || g.Seq != (Number{Set: true, Abs: true}) {
		t.Fatalf("gvisor replacement %+v", g)
	}
	fin := sc.Steps[3].Seg
	if fin.Flags != tcp.FlagFIN|tcp.FlagPSH|tcp.FlagACK || string(fin.Data.Bytes) != `a #b "c"` {
		t.Fatalf("FIN %+v %q", fin, fin.Data.Bytes)
	}
	if n := sc.Steps[4].Seg; n.Flags != 0 || n.Seq.V != -3 || n.Data.Len != 10 || n.Data.Bytes != nil {
		t.Fatalf("none segment %+v", n)
	}
	if d := sc.Steps[5].Duration; d != 1500*time.Millisecond {
		t.Fatalf("after %v", d)
	}
	if s := sc.Steps[6]; s.Call != CallSend || !s.Fails || s.Data.Len != 3 {
		t.Fatalf("send %+v", s)
	}
	if s := sc.Steps[7]; s.Call != CallRead || s.Read != ReadEOF {
		t.Fatalf("read %+v", s)
	}
	if s := sc.Steps[8]; s.State != tcp.TimeWait {
		t.Fatalf("state %+v", s)
	}
	if s := sc.Steps[9]; s.Err != "reset" {
		t.Fatalf("error %+v", s)
	}
	if got := len(sc.Differences()); got != 1 {
		t.Fatalf("%d differences, want 1", got)
	}

	skip, err := Parse("skip", "# t\nrfc: RFC 9293\nstate CLOSED\ngvisor skips: # RFC 9293: gVisor has no such state\n")
	if err != nil {
		t.Fatal(err)
	}
	if g := skip.Steps[0].GVisor; g == nil || len(g) != 0 || skip.Steps[0].Cite == "" {
		t.Fatalf("gvisor skips: %+v", skip.Steps[0])
	}
}

func TestParseOptions(t *testing.T) {
	num := func(v int64) Number { return Number{Set: true, V: v} }
	tests := []struct {
		line string
		want SegSpec
	}{
		{"in SYN seq=0 sackok", SegSpec{SACKOK: Present}},
		{"out SYN-ACK nosackok nows nots nosack", SegSpec{SACKOK: Absent, NoWS: true, NoTS: true, NoSACK: true}},
		{"in ACK seq=1 ack=1 sack=1461-2921,abs:7-abs:9", SegSpec{SACK: []Block{
			{num(1461), num(2921)}, {Number{Set: true, Abs: true, V: 7}, Number{Set: true, Abs: true, V: 9}},
		}}},
		{"out ACK sack=-5--3", SegSpec{SACK: []Block{{num(-5), num(-3)}}}},
		{"in ACK seq=1 ack=1 ts=100:last", SegSpec{TS: &Timestamps{Val: TSValue{V: 100}, Ecr: TSValue{Kind: TSLast}}}},
		{"out ACK ts=*:100", SegSpec{TS: &Timestamps{Val: TSValue{Kind: TSAny}, Ecr: TSValue{V: 100}}}},
	}
	for _, tt := range tests {
		st, err := parseStep(tt.line)
		if err != nil {
			t.Errorf("%s: %v", tt.line, err)
			continue
		}
		got := st.Seg
		got.Flags, got.Seq, got.Ack = 0, Number{}, Number{}
		tt.want.Win, tt.want.MSS, tt.want.WS = -1, -1, -1
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tt.line, diff)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const head = "# title\nrfc: RFC 9293\n"
	tests := []struct {
		name, text, want string
	}{
		{"no title", "rfc: RFC 9293\nuser open passive\n", "no title"},
		{"no rule", "# title\nuser open passive\n", "no rfc: line"},
		{"no steps", head, "no steps"},
		{"gvisor without citation", head + "user open passive\nstate LISTEN\ngvisor: state CLOSED\n", "needs a citation"},
		{"gvisor citation without RFC", head + "user open passive\nstate LISTEN\ngvisor: state CLOSED # because\n", "needs a citation"},
		{"gvisor after in", head + "in SYN seq=0\ngvisor: out nothing # RFC 9293\n", "must follow"},
		{"gvisor sends other input", head + "state LISTEN\ngvisor: in SYN seq=0 # RFC 9293\n", "same input"},
		{"skip without reason", head + "skip gvisor:\nuser open passive\n", "written reason"},
		{"unknown step", head + "frobnicate\n", "unknown step"},
		{"unknown flag", head + "in SYNACK seq=0\n", "unknown flag"},
		{"in without seq", head + "in SYN\n", "seq= is required"},
		{"ack without number", head + "in ACK seq=1\n", "needs ack="},
		{"unknown state", head + "state ESTABLISHED-ISH\n", "unknown state"},
		{"unknown error", head + "error broken\n", "unknown error"},
		{"bad duration", head + "after soon\n", "positive duration"},
		{"unknown config", head + "config: colour=blue\nstate LISTEN\n", "unknown config key"},
		{"unterminated quote", head + "in ACK seq=1 ack=1 data=\"abc\n", "unterminated quote"},
		{"unknown call", head + "user dance\n", "unknown user call"},
		{"send without data", head + "user send\n", "user send"},
		{"config not on or off", head + "config: sack=maybe\nstate LISTEN\n", "want on or off"},
		{"unknown congestion", head + "config: congestion=vegas\nstate LISTEN\n", "cubic or newreno"},
		{"bad block", head + "in ACK seq=1 ack=1 sack=5\n", "want L-R"},
		{"too many blocks", head + "in ACK seq=1 ack=1 sack=1-2,3-4,5-6,7-8,9-10\n", "at most 4"},
		{"bad timestamps", head + "in ACK seq=1 ack=1 ts=5\n", "want VAL:ECR"},
		{"peer TSval not a number", head + "in ACK seq=1 ack=1 ts=*:5\n", "must be a number"},
		{"peer TSecr any", head + "in ACK seq=1 ack=1 ts=5:*\n", "number or last"},
		{"last as TSval", head + "out ACK ts=last:5\n", "for the echo"},
		{"last on out", head + "out ACK ts=*:last\n", "write the number"},
		{"absence on in", head + "in ACK seq=1 ack=1 nots\n", "for out lines"},
		{"bare word", head + "in ACK seq=1 ack=1 sackok2\n", "want key=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.name, tt.text)
			if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want a syntax error containing %q", err, tt.want)
			}
		})
	}
}

// TestScenarioFilesParse keeps every script in the folder well formed,
// and each name unique by its title.
func TestScenarioFilesParse(t *testing.T) {
	scenarios, err := LoadScenarios(scenarioDir())
	if err != nil {
		t.Fatal(err)
	}
	titles := map[string]string{}
	for _, sc := range scenarios {
		if other, ok := titles[sc.Title]; ok {
			t.Errorf("%s and %s share the title %q", sc.Name, other, sc.Title)
		}
		titles[sc.Title] = sc.Name
	}
}
