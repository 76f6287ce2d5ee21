package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunstack/tunstack/tundev"
)

func TestParseImpair(t *testing.T) {
	issue := tundev.Impairment{Loss: 2, Duplicate: 1, Reorder: 1, Delay: 20 * time.Millisecond}
	tests := []struct {
		name   string
		values []string
		want   tundev.ImpairConfig
	}{
		{"none", nil, tundev.ImpairConfig{}},
		{"both directions", []string{"loss=2%,reorder=1%,dup=1%,delay=20ms"},
			tundev.ImpairConfig{Receive: issue, Transmit: issue}},
		{"per direction", []string{"rx:loss=2%", "tx:delay=20ms,jitter=5ms"}, tundev.ImpairConfig{
			Receive:  tundev.Impairment{Loss: 2},
			Transmit: tundev.Impairment{Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond},
		}},
		{"later wins", []string{"loss=2%,delay=20ms", "rx:loss=5%"}, tundev.ImpairConfig{
			Receive:  tundev.Impairment{Loss: 5, Delay: 20 * time.Millisecond},
			Transmit: tundev.Impairment{Loss: 2, Delay: 20 * time.Millisecond},
		}},
		{"fractions, hold, limit, seed", []string{"tx:reorder=0.5%,hold=2ms", "limit=100,seed=42"}, tundev.ImpairConfig{
			Transmit: tundev.Impairment{Reorder: 0.5, ReorderHold: 2 * time.Millisecond},
			Limit:    100, Seed: 42,
		}},
		{"spaces around items", []string{"loss=1%, delay=1ms"}, tundev.ImpairConfig{
			Receive:  tundev.Impairment{Loss: 1, Delay: time.Millisecond},
			Transmit: tundev.Impairment{Loss: 1, Delay: time.Millisecond},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseImpair(tt.values)
			if err != nil {
				t.Fatalf("parseImpair(%q): %v", tt.values, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseImpair(%q) (-want +got):\n%s", tt.values, diff)
			}
		})
	}
}

func TestParseImpairErrors(t *testing.T) {
	tests := []struct {
		values []string
		want   string
	}{
		{[]string{""}, `--impair "": want KEY=VALUE,..., like loss=2%,delay=20ms`},
		{[]string{"rx:"}, `--impair "rx:": want KEY=VALUE,..., like loss=2%,delay=20ms`},
		{[]string{"up:loss=2%"}, `--impair "up:loss=2%": unknown direction "up" (rx: kernel to stack, tx: stack to kernel, no prefix: both)`},
		{[]string{"loss"}, `--impair "loss": "loss" is not KEY=VALUE`},
		{[]string{"los=2%"}, `--impair "los=2%": unknown key "los" (known: loss, dup, reorder, hold, delay, jitter, limit, seed)`},
		{[]string{"loss=2"}, `--impair "loss=2": loss "2": want a percentage like 2% or 0.5%`},
		{[]string{"dup=x%"}, `--impair "dup=x%": dup "x%": want a percentage like 2% or 0.5%`},
		{[]string{"loss=NaN%"}, `--impair "loss=NaN%": loss "NaN%": want a percentage like 2% or 0.5%`},
		{[]string{"reorder=101%"}, `--impair "reorder=101%": reorder 101%: want 0% to 100%`},
		{[]string{"delay=20"}, `--impair "delay=20": delay "20": want a duration like 20ms`},
		{[]string{"delay=-1ms"}, `--impair "delay=-1ms": delay -1ms: want 0 to 10s`},
		{[]string{"tx:delay=1m"}, `--impair "tx:delay=1m": delay 1m0s: want 0 to 10s`},
		{[]string{"loss=1%,loss=2%"}, `--impair "loss=1%,loss=2%": loss is given twice`},
		{[]string{"rx:seed=1"}, `--impair "rx:seed=1": seed applies to both directions: drop the "rx:" prefix`},
		{[]string{"limit=0"}, `--impair "limit=0": limit "0": want a number of packets from 1 to 1048576`},
		{[]string{"seed=-1"}, `--impair "seed=-1": seed "-1": want a whole number (0 picks one at random)`},
		{[]string{"jitter=5ms"}, `--impair: rx jitter 5ms is more than its delay 0s (jitter varies the delay either way)`},
		{[]string{"delay=10ms,jitter=5ms", "tx:delay=1ms"}, `--impair: tx jitter 5ms is more than its delay 1ms (jitter varies the delay either way)`},
		{[]string{"tx:hold=1ms"}, `--impair: tx hold=1ms does nothing without reorder=P%`},
	}
	for _, tt := range tests {
		_, err := parseImpair(tt.values)
		if err == nil {
			t.Errorf("parseImpair(%q) succeeded, want %s", tt.values, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("parseImpair(%q):\n got %s\nwant %s", tt.values, err, tt.want)
		}
		var usage *usageError
		if !errors.As(err, &usage) {
			t.Errorf("parseImpair(%q) = %v, not a usage error (exit 2)", tt.values, err)
		}
	}
}

// TestUpImpairBadValueExits2 checks the whole command line: a bad
// --impair is one line on stderr and exit 2, before privileges matter.
func TestUpImpairBadValueExits2(t *testing.T) {
	code, stdout, stderr := runCLI(t, noCapabilities, strings.NewReader(""), "up", "--impair", "loss=2")
	want := `tunstack: --impair "loss=2": loss "2": want a percentage like 2% or 0.5%` + "\n"
	if code != exitUsage || stderr != want || stdout != "" {
		t.Errorf("exit %d, stderr %q, stdout %q; want exit %d, stderr %q", code, stderr, stdout, exitUsage, want)
	}
}

func TestUpFlagsImpair(t *testing.T) {
	f := defaultUpFlags()
	f.impair = []string{"loss=2%,reorder=1%,dup=1%,delay=20ms"}
	cfg, err := f.config()
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Impair.Active() || cfg.Impair.Receive.Loss != 2 || cfg.Impair.Transmit.Delay != 20*time.Millisecond {
		t.Errorf("--impair gave %+v", cfg.Impair)
	}
	plain := defaultUpFlags()
	if defaults, _ := plain.config(); defaults.Impair.Active() {
		t.Errorf("impairment active by default: %+v", defaults.Impair)
	}
}
