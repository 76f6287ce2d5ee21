package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tunstack/tunstack/tundev"
)

// impairFlagHelp documents --impair in `tunstack up --help`.
const impairFlagHelp = "impair the link like netem; `SPEC` is [rx:|tx:]KEY=VALUE,... with\n" +
	"loss=P%, dup=P%, reorder=P% (held back by hold=DURATION, default 5ms),\n" +
	"delay=DURATION, jitter=DURATION (at most the delay), and for both\n" +
	"directions limit=PACKETS (held at most) and seed=N (to repeat a run).\n" +
	"rx: is kernel to stack, tx: stack to kernel, no prefix both. Repeatable;\n" +
	"a later value wins (e.g. --impair loss=2%,delay=20ms --impair rx:loss=5%)"

// Limits of --impair's values that tundev does not impose itself.
const maxImpairLimit = 1 << 20

// impairKeys are the keys --impair knows, in the order help lists them.
var impairKeys = []string{"loss", "dup", "reorder", "hold", "delay", "jitter", "limit", "seed"}

// parseImpair turns the values of --impair, in order, into one
// configuration. Every error is a usageError that quotes the value.
func parseImpair(values []string) (tundev.ImpairConfig, error) {
	var cfg tundev.ImpairConfig
	for _, value := range values {
		if err := applyImpair(&cfg, value); err != nil {
			return tundev.ImpairConfig{}, usageErrorf("--impair %q: %v", value, err)
		}
	}
	for _, d := range []struct {
		name string
		imp  tundev.Impairment
	}{{"rx", cfg.Receive}, {"tx", cfg.Transmit}} {
		if d.imp.Jitter > d.imp.Delay {
			return tundev.ImpairConfig{}, usageErrorf("--impair: %s jitter %v is more than its delay %v (jitter varies the delay either way)", d.name, d.imp.Jitter, d.imp.Delay)
		}
		if d.imp.ReorderHold > 0 && d.imp.Reorder == 0 {
			return tundev.ImpairConfig{}, usageErrorf("--impair: %s hold=%v does nothing without reorder=P%%", d.name, d.imp.ReorderHold)
		}
	}
	if err := cfg.Validate(); err != nil {
		return tundev.ImpairConfig{}, usageErrorf("--impair: %v", err)
	}
	return cfg, nil
}

// applyImpair applies one --impair value, [rx:|tx:]KEY=VALUE,..., to cfg.
func applyImpair(cfg *tundev.ImpairConfig, value string) error {
	targets := []*tundev.Impairment{&cfg.Receive, &cfg.Transmit}
	prefix := ""
	if before, after, found := strings.Cut(value, ":"); found && !strings.Contains(before, "=") {
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
		if err := setImpairKey(cfg, targets, prefix, key, text); err != nil {
			return err
		}
	}
	return nil
}

// setImpairKey sets key to text in each target, or in cfg for the keys
// that apply to both directions.
func setImpairKey(cfg *tundev.ImpairConfig, targets []*tundev.Impairment, prefix, key, text string) error {
	switch key {
	case "limit", "seed":
		if prefix != "" {
			return fmt.Errorf("%s applies to both directions: drop the %q prefix", key, prefix+":")
		}
		if key == "limit" {
			n, err := strconv.Atoi(text)
			if err != nil || n < 1 || n > maxImpairLimit {
				return fmt.Errorf("limit %q: want a number of packets from 1 to %d", text, maxImpairLimit)
			}
			cfg.Limit = n
			return nil
		}
		n, err := strconv.ParseUint(text, 10, 64)
		if err != nil {
			return fmt.Errorf("seed %q: want a whole number (0 picks one at random)", text)
		}
		cfg.Seed = n
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
		if d < 0 || d > tundev.MaxImpairDelay {
			return fmt.Errorf("%s %v: want 0 to %v", key, d, tundev.MaxImpairDelay)
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
