package tcp

import "testing"

// Connections share a Config made by WithDefaults (one per stack, not
// 176 bytes per connection); any other Config is copied with defaults.
func TestNewSharesOnlyACompleteConfig(t *testing.T) {
	id := ID{Local: localAP, Remote: remoteAP}
	shared := Config{MSS: 1000}.WithDefaults()
	a, b := New(id, &shared, NewEnv(&harness{}, nil, nil)), New(id, &shared, NewEnv(&harness{}, nil, nil))
	if a.cfg != &shared || b.cfg != &shared {
		t.Error("a Config made by WithDefaults was copied")
	}
	partial := Config{MSS: 1000}
	c := New(id, &partial, NewEnv(&harness{}, nil, nil))
	if c.cfg == &partial {
		t.Fatal("an incomplete Config was shared")
	}
	if c.cfg.MSL != DefaultMSL || c.cfg.MSS != 1000 || !c.cfg.complete {
		t.Errorf("copy %+v: want the defaults with MSS 1000", *c.cfg)
	}
	if n := New(id, nil, NewEnv(&harness{}, nil, nil)); n.cfg.MSS != DefaultMSS {
		t.Errorf("nil Config: MSS %d, want %d", n.cfg.MSS, DefaultMSS)
	}
}
