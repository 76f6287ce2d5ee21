package tundev

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestImpairConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  ImpairConfig
		ok   bool
	}{
		{"zero", ImpairConfig{}, true},
		{"the issue's", ImpairConfig{
			Receive:  Impairment{Loss: 2, Reorder: 1, Duplicate: 1, Delay: 20 * time.Millisecond},
			Transmit: Impairment{Loss: 2, Reorder: 1, Duplicate: 1, Delay: 20 * time.Millisecond},
			Seed:     7, Limit: 100,
		}, true},
		{"all lost", ImpairConfig{Transmit: Impairment{Loss: 100}}, true},
		{"jitter up to the delay", ImpairConfig{Receive: Impairment{Delay: time.Millisecond, Jitter: time.Millisecond}}, true},
		{"loss over 100", ImpairConfig{Receive: Impairment{Loss: 100.5}}, false},
		{"negative duplicate", ImpairConfig{Transmit: Impairment{Duplicate: -1}}, false},
		{"NaN reorder", ImpairConfig{Transmit: Impairment{Reorder: math.NaN()}}, false},
		{"negative delay", ImpairConfig{Receive: Impairment{Delay: -time.Millisecond}}, false},
		{"delay too long", ImpairConfig{Receive: Impairment{Delay: MaxImpairDelay + 1}}, false},
		{"hold too long", ImpairConfig{Receive: Impairment{Reorder: 1, ReorderHold: time.Hour}}, false},
		{"jitter over the delay", ImpairConfig{Transmit: Impairment{Delay: time.Millisecond, Jitter: 2 * time.Millisecond}}, false},
		{"negative limit", ImpairConfig{Limit: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.ok && err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Validate() = %v, want an error matching ErrInvalidConfig", err)
			}
		})
	}
}

func TestImpairmentString(t *testing.T) {
	tests := []struct {
		imp  Impairment
		want string
	}{
		{Impairment{}, "none"},
		{Impairment{Loss: 2, Duplicate: 1, Reorder: 0.5, Delay: 20 * time.Millisecond},
			"loss=2%,dup=1%,reorder=0.5%,hold=5ms,delay=20ms"},
		{Impairment{Reorder: 1, ReorderHold: time.Millisecond, Delay: time.Second, Jitter: 10 * time.Millisecond},
			"reorder=1%,hold=1ms,delay=1s,jitter=10ms"},
	}
	for _, tt := range tests {
		if got := tt.imp.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.imp, got, tt.want)
		}
	}
}

func TestImpairConfigActive(t *testing.T) {
	if (ImpairConfig{Seed: 3, Limit: 10}).Active() {
		t.Error("a config with only a seed and a limit is active")
	}
	if !(ImpairConfig{Transmit: Impairment{Delay: time.Millisecond}}).Active() {
		t.Error("a config with a transmit delay is not active")
	}
}
