package main

import (
	"errors"
	"testing"
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
		var usage *usageError
		if tc.wantErr != (err != nil) || (err != nil && !errors.As(err, &usage)) || cfg.Engine != tc.want {
			t.Errorf("--engine %q: config %q, %v; want %q (usage error: %v)", tc.engine, cfg.Engine, err, tc.want, tc.wantErr)
		}
	}
}
