package flags

import (
	"errors"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/tundev"
)

// impairFlagHelp documents --impair in `tunstack up --help`.
const impairFlagHelp = "impair the link like netem; `SPEC` is [rx:|tx:]KEY=VALUE,... with\n" +
	"loss=P%, dup=P%, reorder=P% (held back by hold=DURATION, default 5ms),\n" +
	"delay=DURATION, jitter=DURATION (at most the delay), and for both\n" +
	"directions limit=PACKETS (held at most) and seed=N (to repeat a run).\n" +
	"rx: is kernel to stack, tx: stack to kernel, no prefix both. Repeatable;\n" +
	"a later value wins (e.g. --impair loss=2%,delay=20ms --impair rx:loss=5%)"

// parseImpair reads the values of --impair (tundev.ParseImpair). Every
// error is a usage error that quotes the value at fault.
func parseImpair(values []string) (tundev.ImpairConfig, error) {
	cfg, err := tundev.ParseImpair(values)
	var spec *tundev.ImpairSpecError
	switch {
	case errors.As(err, &spec):
		return tundev.ImpairConfig{}, usage.Errorf("--impair %v", err)
	case err != nil:
		return tundev.ImpairConfig{}, usage.Errorf("--impair: %v", err)
	}
	return cfg, nil
}
