package flags

import (
	"testing"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

// TestParseImpairNamesTheFlag: tundev reads the values; the flag's
// errors quote the value at fault and are usage errors (exit 2).
func TestParseImpairNamesTheFlag(t *testing.T) {
	for _, tt := range []struct {
		values []string
		want   string
	}{
		{[]string{"loss=1%", "loss=2"}, `--impair "loss=2": loss "2": want a percentage like 2% or 0.5%`},
		{[]string{"delay=10ms,jitter=5ms", "tx:delay=1ms"}, `--impair: tx jitter 5ms is more than its delay 1ms (jitter varies the delay either way)`},
	} {
		_, err := parseImpair(tt.values)
		if err == nil || err.Error() != tt.want || !usage.Is(err) {
			t.Errorf("parseImpair(%q) = %v, want the usage error %s", tt.values, err, tt.want)
		}
	}
}

func TestUpFlagsImpair(t *testing.T) {
	f := DefaultUp()
	f.impair = []string{"loss=2%,reorder=1%,dup=1%,delay=20ms"}
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Impair.Active() || cfg.Impair.Receive.Loss != 2 || cfg.Impair.Transmit.Delay != 20*time.Millisecond {
		t.Errorf("--impair gave %+v", cfg.Impair)
	}
	plain := DefaultUp()
	if defaults, _ := plain.Config(); defaults.Impair.Active() {
		t.Errorf("impairment active by default: %+v", defaults.Impair)
	}
}
