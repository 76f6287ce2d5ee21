package fault

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	f, err := New("", DropSYN, 80, Upstream, 0.5, map[string]string{"count": "2"})
	if err != nil {
		t.Fatal(err)
	}
	// drop_syn's stream means nothing: it is the default one.
	want := Fault{Name: "drop_syn_downstream", Type: DropSYN, Port: 80, Stream: Downstream, Toxicity: 0.5, Attrs: Attrs{Count: 2}}
	if f != want {
		t.Errorf("New = %+v, want %+v", f, want)
	}
	f, err = New("slow", Latency, 80, Upstream, 1, map[string]string{"latency": "200", "jitter": "1.5ms"})
	if err != nil || f.Attrs.Latency != 200*time.Millisecond || f.Attrs.Jitter != 1500*time.Microsecond || f.Stream != Upstream || f.Name != "slow" {
		t.Errorf("latency = %+v, %v", f, err)
	}
	if f, err := New("", Reorder, 80, BothStreams, 1, map[string]string{"percent": "5%"}); err != nil || f.Attrs.Percent != 5 || f.Attrs.Delay != 20*time.Millisecond {
		t.Errorf("reorder = %+v, %v; want 5%% and the default delay", f, err)
	}
	if got := f.String(); got != "slow: port 80 latency upstream toxicity 1 latency=200ms jitter=1.5ms" {
		t.Errorf("String = %q", got)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tt := range []struct {
		typ      Type
		port     uint16
		toxicity float64
		attrs    map[string]string
		want     string
	}{
		{"nonsense", 80, 1, nil, "unknown fault type"},
		{Refuse, 0, 1, nil, "port 0"},
		{Refuse, 80, 1.5, nil, "toxicity"},
		{Refuse, 80, 1, map[string]string{"count": "1"}, `unknown attribute "count" (refuse takes no attributes)`},
		{DropSYN, 80, 1, map[string]string{"count": "-1"}, "count"},
		{DropSYN, 80, 1, map[string]string{"count": "0"}, "count must be positive"},
		{Latency, 80, 1, nil, "latency is required"},
		{Latency, 80, 1, map[string]string{"latency": "soon"}, "want a duration"},
		{Loss, 80, 1, map[string]string{"percent": "120"}, "percentage"},
		{MSS, 80, 1, map[string]string{"size": "20"}, "MSS of 64"},
		{Slicer, 80, 1, map[string]string{"size": "10", "size_variation": "10"}, "size_variation"},
		{RSTAfter, 80, 1, nil, "give bytes or after"},
		{Bandwidth, 80, 1, map[string]string{"rate": "0"}, "rate must be positive"},
	} {
		if _, err := New("", tt.typ, tt.port, Downstream, tt.toxicity, tt.attrs); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%s, %v) = %v, want an error with %q", tt.typ, tt.attrs, err, tt.want)
		}
	}
}

func TestSet(t *testing.T) {
	var s Set
	if s.Rules() != nil {
		t.Fatal("an empty set has rules")
	}
	a, _ := New("a", Refuse, 80, Downstream, 1, nil)
	b, _ := New("b", Loss, 81, Downstream, 1, map[string]string{"percent": "1"})
	if err := s.Add(a, false); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(b, false); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(a, false); !errors.Is(err, ErrExists) {
		t.Errorf("adding a twice: %v, want ErrExists", err)
	}
	before := s.Rules().For(80)[0]
	a.Toxicity = 0.5
	if err := s.Add(a, true); err != nil {
		t.Fatal(err)
	}
	after := s.Rules().For(80)
	if len(after) != 1 || after[0] == before || after[0].Toxicity != 0.5 {
		t.Errorf("replacing a: rules %v, want one new fault with toxicity 0.5", after)
	}
	if err := s.Remove("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing an unknown fault: %v", err)
	}
	if err := s.Remove("a"); err != nil || len(s.Rules().For(80)) != 0 || len(s.List()) != 1 {
		t.Errorf("after removing a: %v, list %v", err, s.List())
	}
	s.Clear()
	if s.Rules() != nil {
		t.Error("a cleared set still has rules")
	}
	var none *Set
	if none.Rules() != nil {
		t.Error("a nil set has rules")
	}
}
