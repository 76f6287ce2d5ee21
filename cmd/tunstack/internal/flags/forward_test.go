package flags

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func parseUp(t *testing.T, args ...string) (*Up, error) {
	t.Helper()
	var f Up
	fs := pflag.NewFlagSet("up", pflag.ContinueOnError)
	f.Register(fs)
	return &f, fs.Parse(args)
}

func TestForwardFlags(t *testing.T) {
	f, err := parseUp(t, "--forward", "8080=10.77.0.1:80", "--forward", "[fd00:77::2]:8443=[fd00:77::1]:443")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"8080=10.77.0.1:80", "[fd00:77::2]:8443=[fd00:77::1]:443"}
	if len(cfg.Forwards) != len(want) {
		t.Fatalf("Forwards = %v, want %v", cfg.Forwards, want)
	}
	for i, spec := range cfg.Forwards {
		if spec.String() != want[i] {
			t.Errorf("forward %d = %v, want %s", i, spec, want[i])
		}
	}
}

func TestForwardFlagsRefuse(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--forward", "80=10.77.0.1:8000"}, "port 80 is taken by service http"},
		{[]string{"--forward", "8080=10.77.0.1:1", "--forward", "8080=10.77.0.1:2"}, "port 8080 is taken by --forward 8080=10.77.0.1:1"},
		{[]string{"--forward", "10.77.0.9:8080=10.77.0.1:1"}, "not one of the stack's addresses"},
		{[]string{"--forward", "8080=nowhere"}, "want HOST:PORT"},
		{[]string{"--forward", "8080=10.77.0.1:1", "--engine", "gvisor"}, "--forward needs --engine native"},
	} {
		f, err := parseUp(t, tt.args...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Config()
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "--forward") {
			t.Errorf("%v: error %v, want one starting --forward with %q", tt.args, err, tt.want)
		}
	}
}
