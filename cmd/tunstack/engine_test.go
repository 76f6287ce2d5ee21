package main

import (
	"testing"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

func TestEngineFlag(t *testing.T) {
	for _, tc := range []struct {
		engine  string
		want    string
		wantErr bool
	}{
		{"native", engineNative, false},
		{"gvisor", engineGVisor, false},
		{"linux", "", true},
		{"", "", true},
	} {
		f := defaultUpFlags()
		f.engine = tc.engine
		cfg, err := f.config()
		if tc.wantErr != (err != nil) || (err != nil && !usage.Is(err)) || cfg.Engine != tc.want {
			t.Errorf("--engine %q: config %q, %v; want %q (usage error: %v)", tc.engine, cfg.Engine, err, tc.want, tc.wantErr)
		}
	}
}
