package crosscheck

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
)

// scenarioDir holds the scripts, relative to this package. The
// environment variable CROSSCHECK_SCENARIOS names another folder, for
// trying a script out before it joins the others.
func scenarioDir() string {
	if d := os.Getenv("CROSSCHECK_SCENARIOS"); d != "" {
		return d
	}
	return "../scenarios"
}

// outcome is how one scenario went on each implementation.
type outcome struct {
	sc                     *Scenario
	selected               bool  // -run chose it
	tunstack, gvisor       error // nil: passed
	tunstackRan, gvisorRan bool
	// record: the scenario reached TIME-WAIT and played again with the
	// connection shrunk to its record there (tunstack_record.go).
	record    error
	recordRan bool
}

// TestScenarios plays every script on tunstack's engine and on gVisor's
// netstack, one subtest per engine (TestScenarios/<name>/tunstack and
// .../gvisor), and prints a summary when all have run.
func TestScenarios(t *testing.T) {
	scenarios, err := LoadScenarios(scenarioDir())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	outcomes := make([]*outcome, len(scenarios))
	t.Cleanup(func() {
		// Runs after every parallel subtest has finished. The summary
		// is logged once (go test -v shows it); CROSSCHECK_SUMMARY
		// names a file to write it to as well, where scripts/test.sh
		// points the reader.
		summary := summarize(outcomes)
		t.Log("\n" + summary)
		if path := os.Getenv("CROSSCHECK_SUMMARY"); path != "" {
			if err := os.WriteFile(path, []byte(summary), 0o644); err != nil {
				t.Errorf("writing the summary: %v", err)
			}
		}
	})
	for i, sc := range scenarios {
		o := &outcome{sc: sc}
		outcomes[i] = o
		t.Run(sc.Name, func(t *testing.T) {
			mu.Lock()
			o.selected = true
			mu.Unlock()
			t.Parallel()
			t.Run("tunstack", func(t *testing.T) {
				e := NewTunstack(sc)
				defer e.Release()
				err := Play(sc, e, false)
				mu.Lock()
				o.tunstack, o.tunstackRan = err, true
				mu.Unlock()
				if err != nil {
					t.Errorf("%s (%s):\n%v", sc.Title, sc.Name+".txt", err)
				}
			})
			t.Run("tunstack-record", func(t *testing.T) {
				e := NewTunstackRecord(sc)
				defer e.Release()
				err := Play(sc, e, false)
				if !e.(*tunstackRecord).ReachedTimeWait() {
					t.Skip("never in TIME-WAIT: played on the Conn alone")
				}
				mu.Lock()
				o.record, o.recordRan = err, true
				mu.Unlock()
				if err != nil {
					t.Errorf("%s (%s), TIME-WAIT as a record:\n%v", sc.Title, sc.Name+".txt", err)
				}
			})
			t.Run("gvisor", func(t *testing.T) {
				if sc.SkipGVisor != "" {
					t.Skip(sc.SkipGVisor)
				}
				e, err := NewGVisor(sc)
				if err == nil {
					defer e.Release()
					err = Play(sc, e, true)
				}
				mu.Lock()
				o.gvisor, o.gvisorRan = err, true
				mu.Unlock()
				if err != nil {
					t.Errorf("%s (%s):\n%v", sc.Title, sc.Name+".txt", err)
				}
			})
		})
	}
}

// summarize counts the outcomes: scenarios, identical on both, intended
// differences with their citations, gVisor skips with their reasons, and
// failures.
func summarize(outcomes []*outcome) string {
	var ran, identical, differing, skipped, records int
	var diffs, skips, failures []string
	for _, o := range outcomes {
		if o == nil || !o.selected {
			continue // not selected by -run
		}
		ran++
		sc := o.sc
		if o.tunstack != nil {
			failures = append(failures, sc.Name+" on tunstack")
		}
		if o.gvisorRan && o.gvisor != nil {
			failures = append(failures, sc.Name+" on gvisor")
		}
		if o.recordRan {
			records++
			if o.record != nil {
				failures = append(failures, sc.Name+" on tunstack with the TIME-WAIT record")
			}
		}
		switch {
		case sc.SkipGVisor != "":
			skipped++
			skips = append(skips, fmt.Sprintf("  %s: %s", sc.Name, sc.SkipGVisor))
		case len(sc.Differences()) > 0:
			if o.tunstack == nil && o.gvisor == nil {
				differing++
			}
			for _, st := range sc.Differences() {
				var instead []string
				for _, g := range st.GVisor {
					instead = append(instead, strings.TrimPrefix(g.Text, "gvisor: "))
				}
				if len(instead) == 0 {
					instead = append(instead, "(skipped)")
				}
				diffs = append(diffs, fmt.Sprintf("  %s:%d\n      RFC:    %s\n      gVisor: %s\n      why:    %s",
					sc.Name, st.Line, st.Text, strings.Join(instead, "; "), st.Cite))
			}
		case o.tunstack == nil && o.gvisorRan && o.gvisor == nil:
			identical++
		}
	}
	sort.Strings(failures)
	var b strings.Builder
	fmt.Fprintf(&b, "crosscheck: %d scenarios, %d identical on both, %d with intended differences (%d steps), %d skipped on gVisor, %d failures\n",
		ran, identical, differing, len(diffs), skipped, len(failures))
	fmt.Fprintf(&b, "crosscheck: %d scenarios reach TIME-WAIT and played on tunstack again with the connection shrunk to its record there\n", records)
	if len(diffs) > 0 {
		b.WriteString("intended differences (gVisor's behaviour replaces the RFC's expectation):\n")
		b.WriteString(strings.Join(diffs, "\n") + "\n")
	}
	if len(skips) > 0 {
		b.WriteString("skipped on gVisor:\n" + strings.Join(skips, "\n") + "\n")
	}
	if len(failures) > 0 {
		b.WriteString("failures:\n  " + strings.Join(failures, "\n  ") + "\n")
	}
	return b.String()
}
