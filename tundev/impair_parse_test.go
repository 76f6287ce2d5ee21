package tundev

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseImpair(t *testing.T) {
	issue := Impairment{Loss: 2, Duplicate: 1, Reorder: 1, Delay: 20 * time.Millisecond}
	tests := []struct {
		name   string
		values []string
		want   ImpairConfig
	}{
		{"none", nil, ImpairConfig{}},
		{"both directions", []string{"loss=2%,reorder=1%,dup=1%,delay=20ms"},
			ImpairConfig{Receive: issue, Transmit: issue}},
		{"per direction", []string{"rx:loss=2%", "tx:delay=20ms,jitter=5ms"}, ImpairConfig{
			Receive:  Impairment{Loss: 2},
			Transmit: Impairment{Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond},
		}},
		{"later wins", []string{"loss=2%,delay=20ms", "rx:loss=5%"}, ImpairConfig{
			Receive:  Impairment{Loss: 5, Delay: 20 * time.Millisecond},
			Transmit: Impairment{Loss: 2, Delay: 20 * time.Millisecond},
		}},
		{"fractions, hold, limit, seed", []string{"tx:reorder=0.5%,hold=2ms", "limit=100,seed=42"}, ImpairConfig{
			Transmit: Impairment{Reorder: 0.5, ReorderHold: 2 * time.Millisecond},
			Limit:    100, Seed: 42,
		}},
		{"spaces around items", []string{"loss=1%, delay=1ms"}, ImpairConfig{
			Receive:  Impairment{Loss: 1, Delay: time.Millisecond},
			Transmit: Impairment{Loss: 1, Delay: time.Millisecond},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseImpair(tt.values)
			if err != nil {
				t.Fatalf("ParseImpair(%q): %v", tt.values, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseImpair(%q) (-want +got):\n%s", tt.values, diff)
			}
		})
	}
}

// TestParseImpairReadsString: what Impairment.String writes, ParseImpair
// reads back.
func TestParseImpairReadsString(t *testing.T) {
	rx := Impairment{Loss: 2.5, Duplicate: 1, Reorder: 3, ReorderHold: 2 * time.Millisecond, Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond}
	got, err := ParseImpair([]string{"rx:" + rx.String()})
	if err != nil || got.Receive != rx || got.Transmit != (Impairment{}) {
		t.Errorf("ParseImpair(rx:%s) = %+v, %v; want %+v on receive only", rx.String(), got, err, rx)
	}
}

func TestParseImpairErrors(t *testing.T) {
	tests := []struct {
		values []string
		want   string
		spec   bool // an *ImpairSpecError
	}{
		{[]string{""}, `"": want KEY=VALUE,..., like loss=2%,delay=20ms`, true},
		{[]string{"rx:"}, `"rx:": want KEY=VALUE,..., like loss=2%,delay=20ms`, true},
		{[]string{"up:loss=2%"}, `"up:loss=2%": unknown direction "up" (rx: kernel to stack, tx: stack to kernel, no prefix: both)`, true},
		{[]string{"loss"}, `"loss": "loss" is not KEY=VALUE`, true},
		{[]string{"los=2%"}, `"los=2%": unknown key "los" (known: loss, dup, reorder, hold, delay, jitter, limit, seed)`, true},
		{[]string{"loss=2"}, `"loss=2": loss "2": want a percentage like 2% or 0.5%`, true},
		{[]string{"dup=x%"}, `"dup=x%": dup "x%": want a percentage like 2% or 0.5%`, true},
		{[]string{"loss=NaN%"}, `"loss=NaN%": loss "NaN%": want a percentage like 2% or 0.5%`, true},
		{[]string{"reorder=101%"}, `"reorder=101%": reorder 101%: want 0% to 100%`, true},
		{[]string{"delay=20"}, `"delay=20": delay "20": want a duration like 20ms`, true},
		{[]string{"delay=-1ms"}, `"delay=-1ms": delay -1ms: want 0 to 10s`, true},
		{[]string{"tx:delay=1m"}, `"tx:delay=1m": delay 1m0s: want 0 to 10s`, true},
		{[]string{"loss=1%,loss=2%"}, `"loss=1%,loss=2%": loss is given twice`, true},
		{[]string{"rx:seed=1"}, `"rx:seed=1": seed applies to both directions: drop the "rx:" prefix`, true},
		{[]string{"limit=0"}, `"limit=0": limit "0": want a number of packets from 1 to 1048576`, true},
		{[]string{"seed=-1"}, `"seed=-1": seed "-1": want a whole number (0 picks one at random)`, true},
		{[]string{"jitter=5ms"}, `rx jitter 5ms is more than its delay 0s (jitter varies the delay either way)`, false},
		{[]string{"delay=10ms,jitter=5ms", "tx:delay=1ms"}, `tx jitter 5ms is more than its delay 1ms (jitter varies the delay either way)`, false},
		{[]string{"tx:hold=1ms"}, `tx hold=1ms does nothing without reorder=P%`, false},
	}
	for _, tt := range tests {
		_, err := ParseImpair(tt.values)
		if err == nil {
			t.Errorf("ParseImpair(%q) succeeded, want %s", tt.values, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseImpair(%q):\n got %s\nwant %s", tt.values, err, tt.want)
		}
		var spec *ImpairSpecError
		if errors.As(err, &spec) != tt.spec || tt.spec && !slices.Contains(tt.values, spec.Spec) {
			t.Errorf("ParseImpair(%q) = %#v: want a spec error %v naming the spec", tt.values, err, tt.spec)
		}
	}
}
