package flags

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// testFlags are flags of each type the commands use, checked strictly.
func testFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.Int("mtu", 1500, "")
	fs.Int("max-conns", 0, "")
	fs.Uint16("port", 0, "")
	fs.Duration("msl", 30*time.Second, "")
	fs.Bool("sack", true, "")
	fs.String("ip", "10.77.0.2", "")
	fs.StringArray("impair", nil, "")
	fs.CountP("verbose", "v", "")
	fs.Float64("ratio", 0.5, "")
	RefuseRepeats(fs)
	return fs
}

// TestValueErrors: what a user reads for a value of the wrong form: the
// flag, the value and the form it wants, and nothing of Go's parsers.
func TestValueErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--mtu", "abc"}, `--mtu "abc": want a whole number, like 1500`},
		{[]string{"--mtu=1.5"}, `--mtu "1.5": want a whole number, like 1500`},
		{[]string{"--max-conns", "lots"}, `--max-conns "lots": want a whole number`},
		{[]string{"--port", "-1"}, `--port "-1": want a whole number, 0 or more`},
		{[]string{"--msl", "5"}, `--msl "5": want a duration with its unit, like 500ms, 10s or 2m`},
		{[]string{"--sack=maybe"}, `--sack "maybe": want true or false`},
		{[]string{"--ratio", "half"}, `--ratio "half": want a number, like 0.5`},
		{[]string{"--ip", "10.77.0.2", "--ip", "10.77.0.3"}, `--ip given twice ("10.77.0.2", then "10.77.0.3"): give it once`},
		{[]string{"--mtu", "1400", "--mtu=1400"}, `--mtu given twice ("1400", then "1400"): give it once`},
		{[]string{"--sack=false", "--sack"}, `--sack given twice ("false", then "true"): give it once`},
		{[]string{"--nope"}, "unknown flag: --nope"},
	} {
		err := testFlags().Parse(tt.args)
		if err == nil {
			t.Errorf("%q parsed", tt.args)
			continue
		}
		if got := ValueError(err).Error(); got != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.args, got, tt.want)
		}
	}
}

// TestRepeatableFlags: lists and counters may be given again, and a
// single-valued flag once keeps its value.
func TestRepeatableFlags(t *testing.T) {
	fs := testFlags()
	if err := fs.Parse([]string{"--impair", "loss=1%", "--impair", "tx:delay=5ms", "-vv", "-v", "--mtu", "1400"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := fs.GetStringArray("impair"); len(got) != 2 {
		t.Errorf("--impair %q, want both", got)
	}
	if got, _ := fs.GetCount("verbose"); got != 3 {
		t.Errorf("-v counted %d, want 3", got)
	}
	if got, _ := fs.GetInt("mtu"); got != 1400 {
		t.Errorf("--mtu %d, want 1400", got)
	}
	RefuseRepeats(fs) // a second call wraps nothing twice
	if err := fs.Parse([]string{"--msl", "1s"}); err != nil {
		t.Errorf("--msl after a second RefuseRepeats: %v", err)
	}
}
