package flags

import (
	"testing"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

func TestEngineFlag(t *testing.T) {
	for _, tc := range []struct {
		engine  string
		want    string
		wantErr bool
	}{
		{"native", daemon.EngineNative, false},
		{"gvisor", daemon.EngineGVisor, false},
		{"linux", "", true},
		{"", "", true},
	} {
		f := DefaultUp()
		f.engine = tc.engine
		cfg, err := f.Config()
		if tc.wantErr != (err != nil) || (err != nil && !usage.Is(err)) || cfg.Engine != tc.want {
			t.Errorf("--engine %q: config %q, %v; want %q (usage error: %v)", tc.engine, cfg.Engine, err, tc.want, tc.wantErr)
		}
	}
}
