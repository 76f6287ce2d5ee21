package flags

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

func TestMemFlags(t *testing.T) {
	parse := func(args ...string) (daemon.MemoryConfig, error) {
		var f memFlags
		fs := pflag.NewFlagSet("up", pflag.ContinueOnError)
		f.register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f.config()
	}
	cfg, err := parse("--buffer-budget", "128MiB", "--max-conns", "1000", "--max-conns-per-peer", "10")
	if err != nil || cfg != (daemon.MemoryConfig{BufferBudget: 128 << 20, MaxConns: 1000, MaxConnsPerPeer: 10}) {
		t.Fatalf("config = %+v, %v", cfg, err)
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
		if err == nil || !usage.Is(err) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one usage line with %q", tt.args, err, tt.want)
		}
	}
}
