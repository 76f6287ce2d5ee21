package toxiapi

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/tunstack/tunstack/stack/fault"
)

// Toxic is a toxic as Toxiproxy's API carries it.
type Toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream"`
	Toxicity   float64        `json:"toxicity"`
	Attributes map[string]any `json:"attributes"`
}

// toxiproxyAttrs maps the attributes of Toxiproxy's own toxics to the
// fault's, with the conversion of their units: Toxiproxy gives times in
// milliseconds (slicer's delay in microseconds), which the fault
// attributes also read.
var toxiproxyAttrs = map[string]map[string]struct {
	name string
	unit string // "" as it is; "us": microseconds
}{
	"latency":    {"latency": {"latency", ""}, "jitter": {"jitter", ""}},
	"bandwidth":  {"rate": {"rate", ""}},
	"slow_close": {"delay": {"delay", ""}},
	"timeout":    {"timeout": {"timeout", ""}},
	"reset_peer": {"timeout": {"timeout", ""}},
	"limit_data": {"bytes": {"bytes", ""}},
	"slicer":     {"average_size": {"size", ""}, "size_variation": {"size_variation", ""}, "delay": {"delay", "us"}},
}

// faultOf makes the fault of a proxy's toxic: Toxiproxy's toxics with
// their own attributes, tunstack's faults under their names with theirs
// (numbers in the units `tunstack fault add` takes).
func faultOf(proxy string, port uint16, t Toxic) (fault.Fault, error) {
	stream, err := fault.ParseStream(t.Stream)
	if err != nil {
		return fault.Fault{}, err
	}
	attrs := map[string]string{}
	names := toxiproxyAttrs[t.Type]
	for k, v := range t.Attributes {
		text, err := attrText(v)
		if err != nil {
			return fault.Fault{}, fmt.Errorf("toxic %s: attribute %s: %w", t.Name, k, err)
		}
		if to, ok := names[k]; ok {
			k = to.name
			if to.unit == "us" {
				us, _ := strconv.ParseInt(text, 10, 64)
				text = (time.Duration(us) * time.Microsecond).String()
			}
		}
		if zeroOptional(t.Type, k, text) {
			continue // Toxiproxy's zero means "not set"
		}
		attrs[k] = text
	}
	return fault.New(faultName(proxy, t.Name), fault.Type(t.Type), port, stream, t.Toxicity, attrs)
}

// zeroOptional reports a zero that Toxiproxy's clients send for an
// attribute they leave alone, which tunstack's fault would refuse or take
// as meaning something.
func zeroOptional(typ, attr, text string) bool {
	if text != "0" {
		return false
	}
	switch typ + "." + attr {
	case "latency.jitter", "slicer.size_variation", "slicer.delay", "reset_peer.timeout", "timeout.timeout":
		return true
	}
	return false
}

// attrText is a JSON value as the fault attributes read it.
func attrText(v any) (string, error) {
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) {
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
		return strconv.FormatInt(int64(x), 10), nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("want a number or a string, not %T", v)
}

// faultName is the fault of a proxy's toxic in the stack's set.
func faultName(proxy, toxic string) string { return "toxiproxy:" + proxy + "/" + toxic }
