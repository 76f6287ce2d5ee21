package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
)

// benchFigure is one row of the bench's table.
type benchFigure struct {
	key   string
	label string
	unit  string
	// lowerIsBetter: CPU, memory and latency; for the rest, more is better.
	lowerIsBetter bool
}

// Figure keys, in the table's order.
const (
	figConnRate    = "conn-rate"
	figConnCPU     = "conn-cpu"
	figHTTPClose   = "http-close"
	figHTTPKeep    = "http-keepalive"
	figRRRate      = "rr-rate"
	figRRCPU       = "rr-cpu"
	figUpload1     = "upload-1"
	figUpload8     = "upload-8"
	figDownload1   = "download-1"
	figDownload8   = "download-8"
	figMemEstab    = "mem-established"
	figMemTimeWait = "mem-time-wait"
	figRSSEstab    = "rss-established"
	figRSSTimeWait = "rss-time-wait"
	figLatencyP50  = "latency-p50"
	figLatencyP99  = "latency-p99"
)

// benchFigures are the table's rows. Labels that depend on the run's sizes
// are filled in by newBenchFigures.
func newBenchFigures(sizes Sizes) []benchFigure {
	return []benchFigure{
		{figConnRate, "connections/s (1 B each way, stack closes first)", "conn/s", false},
		{figConnCPU, "stack CPU per connection", "µs", true},
		{figHTTPClose, "HTTP connections/s (wrk, Connection: close)", "req/s", false},
		{figHTTPKeep, fmt.Sprintf("HTTP requests/s (wrk, keep-alive, %d conns)", sizes.wrkConns), "req/s", false},
		{figRRRate, "round trips/s (1 B each way, one connection)", "rt/s", false},
		{figRRCPU, "stack CPU per round trip", "µs", true},
		{figUpload1, "bulk kernel→stack, 1 stream", "MiB/s", false},
		{figUpload8, "bulk kernel→stack, 8 streams", "MiB/s", false},
		{figDownload1, "bulk stack→kernel, 1 stream", "MiB/s", false},
		{figDownload8, "bulk stack→kernel, 8 streams", "MiB/s", false},
		{figMemEstab, fmt.Sprintf("Go heap+stacks per idle ESTABLISHED conn (%d)", sizes.established), "B", true},
		{figRSSEstab, "  resident set per idle ESTABLISHED conn", "B", true},
		{figMemTimeWait, fmt.Sprintf("Go heap+stacks per TIME-WAIT conn (%d)", sizes.timeWait), "B", true},
		{figRSSTimeWait, "  resident set per TIME-WAIT conn", "B", true},
		{figLatencyP50, "connect latency p50 at ½ gVisor's max conn/s", "µs", true},
		{figLatencyP99, "connect latency p99 at ½ gVisor's max conn/s", "µs", true},
	}
}

// benchResults holds every measurement of a bench, by figure and engine;
// the table shows the median of each.
type benchResults struct {
	values map[string]map[string][]float64
	notes  []string
}

func newBenchResults() *benchResults {
	return &benchResults{values: map[string]map[string][]float64{}}
}

func (r *benchResults) record(figure, engine string, v float64) {
	if r.values[figure] == nil {
		r.values[figure] = map[string][]float64{}
	}
	r.values[figure][engine] = append(r.values[figure][engine], v)
}

func (r *benchResults) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// median of figure for engine; NaN if never measured.
func (r *benchResults) median(figure, engine string) float64 {
	vs := slices.Clone(r.values[figure][engine])
	if len(vs) == 0 {
		return math.NaN()
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2]
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
}

// writeTable prints one row per figure: each engine's median and the ratio
// tunstack/gVisor, with which way is better. No figure has a threshold.
func (r *benchResults) writeTable(w io.Writer, figures []benchFigure, runs int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "figure\tunit\ttunstack\tgVisor\ttunstack/gVisor\tbetter\t\n")
	for _, f := range figures {
		native, gv := r.median(f.key, daemon.EngineNative), r.median(f.key, daemon.EngineGVisor)
		better := "higher"
		if f.lowerIsBetter {
			better = "lower"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", f.label, f.unit, formatFigure(native), formatFigure(gv), formatRatio(native, gv), better)
	}
	tw.Flush()
	if runs > 1 {
		fmt.Fprintf(w, "\nEach figure is the median of %d runs.\n", runs)
	}
	if len(r.notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range r.notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
}

// formatFigure writes v with about three significant digits, "-" if unmeasured.
func formatFigure(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case math.Abs(v) >= 100:
		return groupThousands(fmt.Sprintf("%.0f", v))
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func formatRatio(native, gv float64) string {
	if math.IsNaN(native) || math.IsNaN(gv) || gv == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", native/gv)
}

// groupThousands puts commas in a string of digits: 1234567 → 1,234,567.
func groupThousands(digits string) string {
	sign := ""
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}
