package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// writeGatewayTable prints the gateway figures: each path's medians (a
// path that was not measured says why); tunstack's ratio to every other
// path; and the CPU time of each path's process during each figure.
func writeGatewayTable(w io.Writer, results *benchResults, paths []*gatewayPath, runs int, d time.Duration) {
	fmt.Fprintf(w, "\ngateway: a client namespace per path reaches servers on %s in the server namespace (median of %d run(s))\n\n", gwServerAddr, runs)
	var figures, cpuFigures []gatewayFigure
	for _, f := range gatewayFigures {
		figures = append(figures, f)
		if f.cpu {
			cpuFigures = append(cpuFigures, f)
		}
	}
	header := func(first string, figs []gatewayFigure, unit func(gatewayFigure) string) []tableRow {
		labels, units := []string{first}, []string{""}
		for _, f := range figs {
			labels, units = append(labels, f.label), append(units, unit(f))
		}
		return []tableRow{{cells: labels}, {cells: units}}
	}
	ownUnit := func(f gatewayFigure) string { return f.unit }

	rows := header("path", figures, ownUnit)
	for _, p := range paths {
		if p.unavailable != "" {
			rows = append(rows, tableRow{cells: []string{p.name}, rest: "not available: " + p.unavailable})
			continue
		}
		row := tableRow{cells: []string{p.name}}
		for _, f := range figures {
			row.cells = append(row.cells, formatFigure(results.median(f.key, p.name)))
		}
		rows = append(rows, row)
	}
	writeRows(w, rows)

	fmt.Fprintf(w, "\ntunstack's figure divided by each path's (above 1: tunstack's is higher, which is better except for the loss)\n\n")
	rows = header("tunstack/", figures, ownUnit)
	for _, p := range paths {
		if p.unavailable != "" || p.name == "tunstack" {
			continue
		}
		row := tableRow{cells: []string{p.name}}
		for _, f := range figures {
			row.cells = append(row.cells, formatRatio(results.median(f.key, "tunstack"), results.median(f.key, p.name)))
		}
		rows = append(rows, row)
	}
	writeRows(w, rows)

	fmt.Fprintf(w, "\nCPU time of each path's process (the daemon, slirp4netns, pasta) during each figure; the kernel's path has none\n\n")
	rows = header("path", cpuFigures, func(gatewayFigure) string { return "% of a core" })
	for _, p := range paths {
		if p.unavailable != "" || p.pid == 0 {
			continue
		}
		row := tableRow{cells: []string{p.name}}
		for _, f := range cpuFigures {
			row.cells = append(row.cells, formatPercent(results.median(cpuKey(f.key), p.name)))
		}
		rows = append(rows, row)
	}
	writeRows(w, rows)

	fmt.Fprintf(w, "\niperf3 -t %d per figure, the receiver's rate; UDP: -u -b %s -l %d; connections: %d loops for %v of connect, 1 byte each way, the server closes first.\n",
		max(1, int(d.Seconds())), gwUDPRate, gwUDPLength, gwConnWorkers, d)
	for _, n := range results.notes {
		fmt.Fprintln(w, "note: "+n)
	}
}

// tableRow is a line of a table: cells in columns, and rest, text after
// them that no column is sized for (why a path was not measured).
type tableRow struct {
	cells []string
	rest  string
}

// writeRows prints rows with the first column aligned left and the others
// right, each as wide as its widest cell.
func writeRows(w io.Writer, rows []tableRow) {
	var widths []int
	for _, r := range rows {
		for i, c := range r.cells {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r.cells {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		if r.rest != "" {
			b.WriteString("  " + r.rest)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// formatPercent is a CPU share: whole percents, "-" if unmeasured.
func formatPercent(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.0f", v)
}
