package flags

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// errRepeated is the cause of a single-valued flag given twice.
var errRepeated = errors.New("given twice")

// once is a single-valued flag's value that refuses a second Set: with
// pflag, the last of two silently wins, and a command line that says two
// things does not say which it means.
type once struct {
	pflag.Value
	first string // the first value given; "" until Set
	set   bool
}

func (o *once) Set(s string) error {
	if o.set {
		return fmt.Errorf("%w (%q, then %q)", errRepeated, o.first, s)
	}
	if err := o.Value.Set(s); err != nil {
		return err
	}
	o.set, o.first = true, s
	return nil
}

// repeatable reports whether a flag of this pflag type is meant to be
// given more than once: lists and counters.
func repeatable(typ string) bool {
	return strings.HasSuffix(typ, "Slice") || strings.HasSuffix(typ, "Array") || typ == "count"
}

// RefuseRepeats makes every single-valued flag of fs refuse to be given
// twice; lists (--impair) may still be given as often as wanted. Call it
// once the flags are registered, before parsing.
func RefuseRepeats(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if _, done := f.Value.(*once); done || repeatable(f.Value.Type()) {
			return
		}
		f.Value = &once{Value: f.Value}
	})
}

// ValueError rewrites pflag's error for a value it could not parse
// (`invalid argument "abc" for "--mtu" flag: strconv.ParseInt: parsing
// "abc": invalid syntax`) into one that names the flag and the form it
// wants, without Go's internals (`--mtu "abc": want a whole number, like
// 1500`), and a repeated flag's into `--ip given twice ("a", then "b"):
// give it once`. Other errors pass unchanged.
func ValueError(err error) error {
	var invalid *pflag.InvalidValueError
	if !errors.As(err, &invalid) {
		return err
	}
	f := invalid.GetFlag()
	if errors.Is(err, errRepeated) {
		return fmt.Errorf("--%s %v: give it once", f.Name, errors.Unwrap(invalid))
	}
	return fmt.Errorf("--%s %q: want %s", f.Name, invalid.GetValue(), expectedForm(f))
}

// expectedForm says what a flag of f's type takes, with its default as the
// example where that helps.
func expectedForm(f *pflag.Flag) string {
	example := ""
	if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "0s" {
		example = ", like " + f.DefValue
	}
	switch f.Value.Type() {
	case "int", "int8", "int16", "int32", "int64":
		return "a whole number" + example
	case "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number, 0 or more" + example
	case "float32", "float64":
		return "a number" + example
	case "duration":
		return "a duration with its unit, like 500ms, 10s or 2m"
	case "bool":
		return "true or false"
	}
	return "a " + f.Value.Type() + " value"
}
