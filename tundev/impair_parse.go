package tundev

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxParsedLimit bounds the limit= key: a million held packets is more
// than any test needs, and a bound a typo cannot pass.
const maxParsedLimit = 1 << 20

// impairKeys are the keys of the spec syntax, in the order its help lists
// them.
var impairKeys = []string{"loss", "dup", "reorder", "hold", "delay", "jitter", "limit", "seed"}

// ImpairSpecError is a spec ParseImpair could not read: Err says what is
// wrong with Spec.
type ImpairSpecError struct {
	Spec string
	Err  error
}

func (e *ImpairSpecError) Error() string { return strconv.Quote(e.Spec) + ": " + e.Err.Error() }
func (e *ImpairSpecError) Unwrap() error { return e.Err }

// ParseImpair reads specs in the syntax of `tunstack up --impair` (and of
// Impairment.String), in order, into one configuration. A spec is
// [rx:|tx:]KEY=VALUE,... with the keys loss=P%, dup=P%, reorder=P%,
// hold=DURATION, delay=DURATION and jitter=DURATION for the direction
// its prefix names (rx: Receive, tx: Transmit, none: both), and limit=N
// and seed=N, which take no prefix. A later spec overrides the keys it
// gives. An error in one spec is an *ImpairSpecError; the others are
// about the whole: jitter beyond the delay, a hold without reordering,
// or what Validate finds.
func ParseImpair(specs []string) (ImpairConfig, error) {
	var cfg ImpairConfig
	for _, spec := range specs {
		if err := cfg.applySpec(spec); err != nil {
			return ImpairConfig{}, &ImpairSpecError{Spec: spec, Err: err}
		}
	}
	for _, d := range []struct {
		name string
		imp  Impairment
	}{{"rx", cfg.Receive}, {"tx", cfg.Transmit}} {
		if d.imp.Jitter > d.imp.Delay {
			return ImpairConfig{}, fmt.Errorf("%s jitter %v is more than its delay %v (jitter varies the delay either way)", d.name, d.imp.Jitter, d.imp.Delay)
		}
		if d.imp.ReorderHold > 0 && d.imp.Reorder == 0 {
			return ImpairConfig{}, fmt.Errorf("%s hold=%v does nothing without reorder=P%%", d.name, d.imp.ReorderHold)
		}
	}
	if err := cfg.Validate(); err != nil {
		return ImpairConfig{}, err
	}
	return cfg, nil
}

// applySpec applies one spec, [rx:|tx:]KEY=VALUE,..., to c.
func (c *ImpairConfig) applySpec(spec string) error {
	targets := []*Impairment{&c.Receive, &c.Transmit}
	prefix, value := "", spec
	if before, after, found := strings.Cut(spec, ":"); found && !strings.Contains(before, "=") {
		prefix, value = before, after
		switch prefix {
		case "rx":
			targets = targets[:1]
		case "tx":
			targets = targets[1:]
		default:
			return fmt.Errorf("unknown direction %q (rx: kernel to stack, tx: stack to kernel, no prefix: both)", prefix)
		}
	}
	if strings.TrimSpace(value) == "" {
		return fmt.Errorf("want KEY=VALUE,..., like loss=2%%,delay=20ms")
	}
	seen := map[string]bool{}
	for _, item := range strings.Split(value, ",") {
		key, text, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return fmt.Errorf("%q is not KEY=VALUE", item)
		}
		if !slices.Contains(impairKeys, key) {
			return fmt.Errorf("unknown key %q (known: %s)", key, strings.Join(impairKeys, ", "))
		}
		if seen[key] {
			return fmt.Errorf("%s is given twice", key)
		}
		seen[key] = true
		if err := c.setKey(targets, prefix, key, text); err != nil {
			return err
		}
	}
	return nil
}

// setKey sets key to text in each target, or in c for the keys that
// apply to both directions.
func (c *ImpairConfig) setKey(targets []*Impairment, prefix, key, text string) error {
	switch key {
	case "limit", "seed":
		if prefix != "" {
			return fmt.Errorf("%s applies to both directions: drop the %q prefix", key, prefix+":")
		}
		if key == "limit" {
			n, err := strconv.Atoi(text)
			if err != nil || n < 1 || n > maxParsedLimit {
				return fmt.Errorf("limit %q: want a number of packets from 1 to %d", text, maxParsedLimit)
			}
			c.Limit = n
			return nil
		}
		n, err := strconv.ParseUint(text, 10, 64)
		if err != nil {
			return fmt.Errorf("seed %q: want a whole number (0 picks one at random)", text)
		}
		c.Seed = n
		return nil
	case "loss", "dup", "reorder":
		p, err := parsePercent(key, text)
		if err != nil {
			return err
		}
		for _, imp := range targets {
			switch key {
			case "loss":
				imp.Loss = p
			case "dup":
				imp.Duplicate = p
			case "reorder":
				imp.Reorder = p
			}
		}
		return nil
	default: // hold, delay, jitter
		d, err := time.ParseDuration(text)
		if err != nil {
			return fmt.Errorf("%s %q: want a duration like 20ms", key, text)
		}
		if d < 0 || d > MaxImpairDelay {
			return fmt.Errorf("%s %v: want 0 to %v", key, d, MaxImpairDelay)
		}
		for _, imp := range targets {
			switch key {
			case "hold":
				imp.ReorderHold = d
			case "delay":
				imp.Delay = d
			case "jitter":
				imp.Jitter = d
			}
		}
		return nil
	}
}

// parsePercent parses "2%" or "0.5%".
func parsePercent(key, text string) (float64, error) {
	number, ok := strings.CutSuffix(text, "%")
	p, err := strconv.ParseFloat(number, 64)
	if !ok || err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
		return 0, fmt.Errorf("%s %q: want a percentage like 2%% or 0.5%%", key, text)
	}
	if p < 0 || p > 100 {
		return 0, fmt.Errorf("%s %s: want 0%% to 100%%", key, text)
	}
	return p, nil
}
