package control

import (
	"reflect"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
)

// TestStateNamesRoundTrip: every state the engine names reads back, and
// nothing else does.
func TestStateNamesRoundTrip(t *testing.T) {
	all := append([]tcp.State{tcp.Closed}, ConnectionStates...)
	for st := tcp.State(0); st.String() != "UNKNOWN"; st++ {
		got, ok := ParseState(st.String())
		if !ok || got != st {
			t.Errorf("ParseState(%q) = %v, %v; want %v", st.String(), got, ok, st)
		}
		if int(st) >= len(all) || all[st] != st {
			t.Errorf("state %v is missing from ConnectionStates", st)
		}
	}
	for _, name := range []string{"", "established", "SYN-RCVD", "UNKNOWN"} {
		if st, ok := ParseState(name); ok {
			t.Errorf("ParseState(%q) = %v, want not ok", name, st)
		}
	}
	if got := StateCounts(map[tcp.State]int{tcp.TimeWait: 2, tcp.Listen: 1}); len(got) != 2 || got["TIME-WAIT"] != 2 || got["LISTEN"] != 1 {
		t.Errorf("StateCounts = %v", got)
	}
}

// TestReasonCodesRoundTrip: every reason reads back from its code.
func TestReasonCodesRoundTrip(t *testing.T) {
	n := 0
	for r := tcp.ReasonNone + 1; r.Code() != "unknown"; r++ {
		got, ok := ParseReason(r.Code())
		if !ok || got != r {
			t.Errorf("ParseReason(%q) = %v, %v; want %v", r.Code(), got, ok, r)
		}
		n++
	}
	if n < 50 {
		t.Errorf("only %d reasons read back: the walk over the codes stopped early", n)
	}
	if r, ok := ParseReason("no-such-reason"); ok || r != tcp.ReasonNone {
		t.Errorf("ParseReason of an unknown code = %v, %v", r, ok)
	}
}

// TestJSONWritesNoStateNumbers: nothing the control protocol or the
// CLI's --json writes holds a tcp.State, which encoding/json would write
// as its number: states go out by name (a string), keys of maps too.
func TestJSONWritesNoStateNumbers(t *testing.T) {
	state := reflect.TypeFor[tcp.State]()
	seen := map[reflect.Type]bool{}
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		if typ == state {
			t.Errorf("%s is a tcp.State: JSON would write its number", path)
			return
		}
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			walk(path+"[]", typ.Elem())
		case reflect.Map:
			walk(path+"{key}", typ.Key())
			walk(path+"{}", typ.Elem())
		case reflect.Struct:
			for i := range typ.NumField() {
				if f := typ.Field(i); f.IsExported() {
					walk(path+"."+f.Name, f.Type)
				}
			}
		}
	}
	for _, v := range []any{Reply{}, Event{}, Memstats{}, Request{}} {
		walk(reflect.TypeOf(v).Name(), reflect.TypeOf(v))
	}
	if !seen[reflect.TypeFor[ConnStatus]()] || !seen[reflect.TypeFor[Segment]()] {
		t.Fatal("the walk missed the types inside the replies")
	}
}
