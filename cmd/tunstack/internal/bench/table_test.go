package bench

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
)

func TestBenchResultsMedian(t *testing.T) {
	r := newBenchResults()
	if got := r.median(figConnRate, daemon.EngineNative); !math.IsNaN(got) {
		t.Errorf("median of nothing = %v, want NaN", got)
	}
	for _, v := range []float64{5, 1, 3} {
		r.record(figConnRate, daemon.EngineNative, v)
	}
	if got := r.median(figConnRate, daemon.EngineNative); got != 3 {
		t.Errorf("median of 5 1 3 = %v", got)
	}
	r.record(figConnRate, daemon.EngineNative, 4)
	if got := r.median(figConnRate, daemon.EngineNative); got != 3.5 {
		t.Errorf("median of 5 1 3 4 = %v", got)
	}
}

func TestBenchTable(t *testing.T) {
	r := newBenchResults()
	r.record(figConnRate, daemon.EngineNative, 20000)
	r.record(figConnRate, daemon.EngineGVisor, 10000)
	r.record(figConnCPU, daemon.EngineNative, 12.5)
	r.record(figConnCPU, daemon.EngineGVisor, 50)
	r.record(figMemTimeWait, daemon.EngineNative, 200)
	r.note("gvisor, connections: 3 errors")
	var b strings.Builder
	r.writeTable(&b, newBenchFigures(QuickSizes), 3)
	out := b.String()
	// Each row: the label, then unit, tunstack, gVisor, ratio, better.
	for _, want := range []struct {
		label string
		cells []string
	}{
		{"figure", []string{"unit", "tunstack", "gVisor", "tunstack/gVisor", "better"}},
		{"connections/s (1 B each way, stack closes first)", []string{"conn/s", "20,000", "10,000", "2.00", "higher"}},
		{"stack CPU per connection", []string{"µs", "12.5", "50.0", "0.25", "lower"}},
		{"Go heap+stacks per TIME-WAIT conn (10000)", []string{"B", "200", "-", "-", "lower"}},
	} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			label, rest, ok := strings.Cut(strings.TrimSpace(line), want.label)
			if ok && label == "" && cmp.Equal(strings.Fields(rest), want.cells) {
				found = true
			}
		}
		if !found {
			t.Errorf("table lacks the row %q %v:\n%s", want.label, want.cells, out)
		}
	}
	for _, want := range []string{"median of 3 runs", "gvisor, connections: 3 errors"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestFormatFigure(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{math.NaN(), "-"}, {1234567.4, "1,234,567"}, {-1234, "-1,234"}, {999, "999"}, {12.34, "12.3"}, {1.234, "1.23"}, {0, "0.00"},
	} {
		if got := formatFigure(tc.v); got != tc.want {
			t.Errorf("formatFigure(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
