package crosscheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LoadScenarios parses every *.txt file of dir, in name order.
func LoadScenarios(dir string) ([]*Scenario, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no scenarios in %s", dir)
	}
	var out []*Scenario
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sc, err := Parse(strings.TrimSuffix(filepath.Base(f), ".txt"), string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, sc)
	}
	return out, nil
}

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("syntax error")

// Parse parses the text of one script.
func Parse(name, text string) (*Scenario, error) {
	sc := &Scenario{Name: name, Config: DefaultConfig()}
	var replaceable *Step // the step a gvisor: line replaces
	sawStep := false
	for i, raw := range strings.Split(text, "\n") {
		lineNo := i + 1
		fail := func(format string, args ...any) error {
			return fmt.Errorf("line %d: %q: %w: %s", lineNo, strings.TrimSpace(raw), ErrSyntax, fmt.Sprintf(format, args...))
		}
		line, comment := splitComment(raw)
		line = strings.TrimSpace(line)
		if line == "" {
			if comment != "" && !sawStep && sc.Title == "" {
				sc.Title = comment
			}
			continue
		}
		key, rest, hasColon := strings.Cut(line, ":")
		if hasColon && !strings.ContainsAny(key, "\"=") {
			rest = strings.TrimSpace(rest)
			switch key {
			case "rfc":
				if rest == "" {
					return nil, fail("empty rule")
				}
				sc.Rules = append(sc.Rules, rest)
				continue
			case "config":
				if err := parseConfig(&sc.Config, rest); err != nil {
					return nil, fail("%v", err)
				}
				continue
			case "skip gvisor":
				if rest == "" {
					return nil, fail("skip gvisor: needs a written reason")
				}
				sc.SkipGVisor = rest
				continue
			case "gvisor":
				if replaceable == nil {
					return nil, fail("gvisor: must follow the step it replaces (any step but in)")
				}
				if !strings.Contains(strings.ToUpper(comment), "RFC") {
					return nil, fail("gvisor: needs a citation: a comment naming the RFC rule")
				}
				st, err := parseStep(rest)
				if err != nil {
					return nil, fail("%v", err)
				}
				if st.Kind == StepIn {
					return nil, fail("gvisor: cannot send a different segment: both stacks get the same input")
				}
				st.Line, st.Text, st.Cite = lineNo, "gvisor: "+rest, comment
				if replaceable.GVisor == nil {
					replaceable.Cite = comment
				}
				replaceable.GVisor = append(replaceable.GVisor, st)
				continue
			case "gvisor skips":
				// "gvisor skips: # citation": gVisor does not do this step.
				if replaceable == nil {
					return nil, fail("gvisor skips: must follow the step it skips (any step but in)")
				}
				if !strings.Contains(strings.ToUpper(comment), "RFC") {
					return nil, fail("gvisor skips: needs a citation")
				}
				replaceable.GVisor = []Step{}
				replaceable.Cite = comment
				continue
			default:
				return nil, fail("unknown header %q", key)
			}
		}
		st, err := parseStep(line)
		if err != nil {
			return nil, fail("%v", err)
		}
		st.Line, st.Text = lineNo, line
		sawStep = true
		if st.Kind == StepUser && st.Call == CallOpenActive {
			sc.Active = true
		}
		sc.Steps = append(sc.Steps, st)
		replaceable = nil
		if st.Kind != StepIn {
			replaceable = &sc.Steps[len(sc.Steps)-1]
		}
	}
	switch {
	case sc.Title == "":
		return nil, fmt.Errorf("%w: no title (the first line must be a # comment)", ErrSyntax)
	case len(sc.Rules) == 0:
		return nil, fmt.Errorf("%w: no rfc: line", ErrSyntax)
	case len(sc.Steps) == 0:
		return nil, fmt.Errorf("%w: no steps", ErrSyntax)
	}
	return sc, nil
}

// splitComment cuts a line at the first # that is not inside quotes.
func splitComment(s string) (line, comment string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if inQuote {
				i++
			}
		case '"':
			inQuote = !inQuote
		case '#':
			if !inQuote {
				return s[:i], strings.TrimSpace(s[i+1:])
			}
		}
	}
	return s, ""
}
