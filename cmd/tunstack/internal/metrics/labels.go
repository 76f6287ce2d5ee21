package metrics

import "strings"

// LabelValue writes a state name or a reason code as a label value the
// Prometheus way, lowercase snake case: "CLOSE-WAIT" is close_wait,
// "engine:rst-outside-window" engine_rst_outside_window, "syn-ack"
// syn_ack. The trace, ss and the control socket keep the original names.
func LabelValue(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', ':', ' ', '.', '/':
			return '_'
		}
		return r
	}, strings.ToLower(name))
}
