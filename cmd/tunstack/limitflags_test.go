package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/tunstack/tunstack/stack"
)

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		text string
		want int64
	}{
		{"512MiB", 512 << 20}, {"512M", 512 << 20}, {"512mb", 512 << 20}, {"2GiB", 2 << 30},
		{"1.5GiB", 3 << 29}, {"64KiB", 64 << 10}, {"65536", 65536}, {"100B", 100}, {" 8 MiB ", 8 << 20}, {"0", 0},
	} {
		if got, err := parseSize(tt.text); err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.text, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1MiB", "12XB", "1e9", "0x10", "inf", "1..2M", "9000000TiB"} {
		if got, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", bad, got)
		}
	}
}

func TestLimitFlags(t *testing.T) {
	parse := func(args ...string) (limitConfig, error) {
		var f limitFlags
		fs := pflag.NewFlagSet("up", pflag.ContinueOnError)
		f.register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f.config()
	}
	cfg, err := parse("--buffer-budget", "128MiB", "--max-conns", "1000", "--max-conns-per-peer", "10")
	if err != nil || cfg != (limitConfig{BufferBudget: 128 << 20, MaxConns: 1000, MaxConnsPerPeer: 10}) {
		t.Fatalf("config = %+v, %v", cfg, err)
	}
	var opts stack.Options
	cfg.apply(&opts)
	if opts.BufferBudget != 128<<20 || opts.MaxConns != 1000 || opts.MaxConnsPerPeer != 10 {
		t.Fatalf("options %+v", opts)
	}
	if cfg, err := parse("--buffer-budget", "0"); err != nil || cfg.BufferBudget != -1 {
		t.Fatalf("--buffer-budget 0: %+v, %v; want no bound (-1)", cfg, err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--buffer-budget", "lots"}, `--buffer-budget "lots": want a size like`},
		{[]string{"--buffer-budget", "100KiB"}, "want at least 1MiB, or 0 for no bound"},
		{[]string{"--max-conns", "-1"}, "must not be negative"},
	} {
		_, err := parse(tt.args...)
		var usage *usageError
		if err == nil || !errors.As(err, &usage) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one usage line with %q", tt.args, err, tt.want)
		}
	}
}
