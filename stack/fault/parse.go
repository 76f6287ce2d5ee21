package fault

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// attr is one parameter a fault type takes.
type attr struct {
	name     string
	required bool
	field    func(*Attrs) any // the pointer to set
}

var (
	attrCount   = attr{name: "count", field: func(a *Attrs) any { return &a.Count }}
	attrDelay   = attr{name: "delay", field: func(a *Attrs) any { return &a.Delay }}
	attrLatency = attr{name: "latency", required: true, field: func(a *Attrs) any { return &a.Latency }}
	attrJitter  = attr{name: "jitter", field: func(a *Attrs) any { return &a.Jitter }}
	attrBytes   = attr{name: "bytes", field: func(a *Attrs) any { return &a.Bytes }}
	attrAfter   = attr{name: "after", field: func(a *Attrs) any { return &a.After }}
	attrTimeout = attr{name: "timeout", field: func(a *Attrs) any { return &a.After }}
	attrPercent = attr{name: "percent", required: true, field: func(a *Attrs) any { return &a.Percent }}
	attrRate    = attr{name: "rate", required: true, field: func(a *Attrs) any { return &a.Rate }}
	attrSize    = attr{name: "size", required: true, field: func(a *Attrs) any { return &a.Size }}
	attrVary    = attr{name: "size_variation", field: func(a *Attrs) any { return &a.Vary }}
)

func required(a attr) attr { a.required = true; return a }

// typeInfo is what each type takes and whether its stream means anything.
type typeInfo struct {
	attrs    []attr
	stream   bool                  // the stream matters
	defaults func(*Attrs)          // before the user's values
	check    func(a *Attrs) string // after them: what is wrong, or ""
}

var types = map[Type]typeInfo{
	Refuse:      {},
	DropSYN:     {attrs: []attr{attrCount}, defaults: func(a *Attrs) { a.Count = 1 }, check: positive("count", func(a *Attrs) int64 { return int64(a.Count) })},
	DelaySYNACK: {attrs: []attr{required(attrDelay)}},
	AcceptHold:  {attrs: []attr{required(attrDelay)}},
	Blackhole:   {attrs: []attr{attrBytes, attrAfter}}, // both ways: the cable is unplugged
	ResetPeer:   {attrs: []attr{attrTimeout}},
	RSTAfter:    {attrs: []attr{attrBytes, attrAfter}, stream: true, check: oneOf},
	Loss:        {attrs: []attr{attrPercent}, stream: true},
	Latency:     {attrs: []attr{attrLatency, attrJitter}, stream: true},
	ZeroWindow:  {attrs: []attr{attrBytes}},
	HangClose:   {},
	Forget:      {attrs: []attr{attrBytes, attrAfter}},
	MSS:         {attrs: []attr{attrSize}, stream: true, check: mssRange},
	Slicer:      {attrs: []attr{attrSize, attrVary, attrDelay}, stream: true, check: sliceSizes},
	Bandwidth:   {attrs: []attr{attrRate}, stream: true, check: positive("rate", func(a *Attrs) int64 { return a.Rate })},
	LimitData:   {attrs: []attr{required(attrBytes)}, stream: true},
	SlowClose:   {attrs: []attr{required(attrDelay)}},
	Timeout:     {attrs: []attr{attrTimeout}, stream: true},
	SlowRead:    {attrs: []attr{attrSize}, check: positive("size", func(a *Attrs) int64 { return int64(a.Size) })},
	Duplicate:   {attrs: []attr{attrPercent}, stream: true},
	Reorder:     {attrs: []attr{attrPercent, attrDelay}, stream: true, defaults: func(a *Attrs) { a.Delay = 20 * time.Millisecond }},
}

// Types lists every fault type, sorted.
func Types() []Type {
	var all []Type
	for t := range types {
		all = append(all, t)
	}
	slices.Sort(all)
	return all
}

// Attributes lists the attribute names a type takes.
func Attributes(t Type) []string {
	var names []string
	for _, a := range types[t].attrs {
		names = append(names, a.name)
	}
	return names
}

// ErrUnknownType: no such fault.
var ErrUnknownType = errors.New("unknown fault type")

// New makes a fault of type typ on port with the attributes given as
// text (durations as Go writes them or in milliseconds, percentages with
// or without "%"), checking everything: a fault that New returns is
// valid. name "" is "<type>_<stream>".
func New(name string, typ Type, port uint16, stream Stream, toxicity float64, attrs map[string]string) (Fault, error) {
	info, ok := types[typ]
	if !ok {
		names := make([]string, 0, len(types))
		for _, t := range Types() {
			names = append(names, string(t))
		}
		return Fault{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownType, typ, strings.Join(names, ", "))
	}
	if port == 0 {
		return Fault{}, errors.New("fault: port 0: want the stack's port, 1-65535")
	}
	if toxicity < 0 || toxicity > 1 {
		return Fault{}, fmt.Errorf("fault %s: toxicity %g: want 0 to 1", typ, toxicity)
	}
	if !info.stream {
		stream = Downstream
	}
	f := Fault{Name: name, Type: typ, Port: port, Stream: stream, Toxicity: toxicity}
	if f.Name == "" {
		f.Name = string(typ) + "_" + stream.String()
	}
	if info.defaults != nil {
		info.defaults(&f.Attrs)
	}
	seen := map[string]bool{}
	for key, value := range attrs {
		i := slices.IndexFunc(info.attrs, func(a attr) bool { return a.name == key })
		if i < 0 {
			return Fault{}, fmt.Errorf("fault %s: unknown attribute %q (%s takes %s)", typ, key, typ, orNone(Attributes(typ)))
		}
		if err := setAttr(info.attrs[i], &f.Attrs, value); err != nil {
			return Fault{}, fmt.Errorf("fault %s: %w", typ, err)
		}
		seen[key] = true
	}
	for _, a := range info.attrs {
		if a.required && !seen[a.name] {
			return Fault{}, fmt.Errorf("fault %s: attribute %s is required", typ, a.name)
		}
	}
	if info.check != nil {
		if why := info.check(&f.Attrs); why != "" {
			return Fault{}, fmt.Errorf("fault %s: %s", typ, why)
		}
	}
	return f, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "no attributes"
	}
	return strings.Join(names, ", ")
}

func setAttr(a attr, attrs *Attrs, text string) error {
	switch p := a.field(attrs).(type) {
	case *int:
		n, err := strconv.Atoi(text)
		if err != nil || n < 0 {
			return fmt.Errorf("%s=%q: want a whole number, 0 or more", a.name, text)
		}
		*p = n
	case *int64:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%s=%q: want a whole number, 0 or more", a.name, text)
		}
		*p = n
	case *time.Duration:
		d, err := ParseDuration(text)
		if err != nil {
			return fmt.Errorf("%s=%q: %w", a.name, text, err)
		}
		*p = d
	case *float64:
		v, err := strconv.ParseFloat(strings.TrimSuffix(text, "%"), 64)
		if err != nil || v < 0 || v > 100 {
			return fmt.Errorf("%s=%q: want a percentage, 0 to 100", a.name, text)
		}
		*p = v
	}
	return nil
}

// ParseDuration reads a Go duration ("1.5s") or a whole number of
// milliseconds, as Toxiproxy's attributes give them.
func ParseDuration(text string) (time.Duration, error) {
	if ms, err := strconv.ParseInt(text, 10, 64); err == nil && ms >= 0 {
		return time.Duration(ms) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil || d < 0 {
		return 0, errors.New("want a duration like 200ms or 2s, or milliseconds")
	}
	return d, nil
}

func positive(name string, get func(*Attrs) int64) func(*Attrs) string {
	return func(a *Attrs) string {
		if get(a) <= 0 {
			return name + " must be positive"
		}
		return ""
	}
}

func oneOf(a *Attrs) string {
	if a.Bytes == 0 && a.After == 0 {
		return "give bytes or after"
	}
	return ""
}

func mssRange(a *Attrs) string {
	if a.Size < 64 || a.Size > 65495 {
		return fmt.Sprintf("size %d: want an MSS of 64 to 65495", a.Size)
	}
	return ""
}

func sliceSizes(a *Attrs) string {
	if a.Size <= 0 || a.Vary >= a.Size {
		return "size must be positive and size_variation below it"
	}
	return ""
}

// AttrList is the fault's attributes that its type takes, as name and
// text, in the type's order.
func (f *Fault) AttrList() [][2]string {
	var list [][2]string
	for _, a := range types[f.Type].attrs {
		var text string
		switch p := a.field(&f.Attrs).(type) {
		case *int:
			text = strconv.Itoa(*p)
		case *int64:
			text = strconv.FormatInt(*p, 10)
		case *time.Duration:
			text = p.String()
		case *float64:
			text = strconv.FormatFloat(*p, 'g', -1, 64) + "%"
		}
		list = append(list, [2]string{a.name, text})
	}
	return list
}
