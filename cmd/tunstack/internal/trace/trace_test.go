package trace

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

func TestOptionsCheck(t *testing.T) {
	for _, tt := range []struct {
		o       Options
		wantErr string
	}{
		{Options{JSON: true, Ladder: true}, "do not go together"},
		{Options{JSON: true, SVG: "x.svg"}, "do not go together"},
		{Options{Count: -1}, "--count -1"},
		{Options{States: []string{"half-open"}}, `unknown state "half-open"`},
		{Options{Filter: control.Filter{Remote: "nowhere"}}, `remote "nowhere"`},
	} {
		if err := tt.o.Check(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%+v: Check = %v, want an error with %q", tt.o, err, tt.wantErr)
		}
	}
	o := Options{SVG: "x.svg", States: []string{"time-wait"}}
	if err := o.Check(); err != nil || !o.Ladder || len(o.Filter.States) != 1 || o.Filter.States[0] != "TIME-WAIT" {
		t.Errorf("--svg with a state: %v, ladder %v, states %v", err, o.Ladder, o.Filter.States)
	}
	// A ladder needs every event of a connection: the states stay here.
	if req := o.Request(); req.Op != control.OpEvents || len(req.Filter.States) != 0 {
		t.Errorf("ladder request %+v: want events with no states", req.Filter)
	}
	text := Options{States: []string{"time-wait"}}
	text.Check()
	if req := text.Request(); len(req.Filter.States) != 1 {
		t.Errorf("text request %+v: want the state at the daemon", req.Filter)
	}
}

// eventLines is the JSON of n segments in, one per line, as the daemon
// sends them.
func eventLines(t *testing.T, n int) *bufio.Reader {
	t.Helper()
	id := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}
	var b strings.Builder
	for i := range n {
		e := stack.Event{Time: time.Unix(int64(i), 0), Kind: stack.EventSegmentIn, Conn: id, State: tcp.Established,
			Seg: stack.SegmentSummary{Flags: tcp.FlagACK, Seq: tcp.Seq(i)}}
		line, err := json.Marshal(control.NewEvent(e))
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	return bufio.NewReader(strings.NewReader(b.String()))
}

func TestRunStopsAtCountOrTheStreamsEnd(t *testing.T) {
	var out, stderr strings.Builder
	o := Options{Count: 2}
	if err := o.Run(context.Background(), eventLines(t, 3), nil, &out, &stderr); err != nil {
		t.Fatalf("Run with --count 2: %v", err)
	}
	if n := strings.Count(out.String(), "\n"); n != 2 || !strings.Contains(out.String(), "in    10.77.0.1:40000 > 10.77.0.2:80  ACK seq=1 ") {
		t.Errorf("--count 2 printed %d lines:\n%s", n, out.String())
	}
	out.Reset()
	o = Options{JSON: true}
	if err := o.Run(context.Background(), eventLines(t, 3), nil, &out, &stderr); !errors.Is(err, errStreamEnded) {
		t.Errorf("Run to the stream's end = %v, want %v", err, errStreamEnded)
	}
	if n := strings.Count(out.String(), `"kind":"segment-in"`); n != 3 {
		t.Errorf("--json printed %d events, want the 3 lines as they came:\n%s", n, out.String())
	}
}
