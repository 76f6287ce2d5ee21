package crosscheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// LoadScenarios parses every *.txt file of dir, in name order.
func LoadScenarios(dir string) ([]*Scenario, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no scenarios in %s", dir)
	}
	var out []*Scenario
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sc, err := Parse(strings.TrimSuffix(filepath.Base(f), ".txt"), string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, sc)
	}
	return out, nil
}

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("syntax error")

// Parse parses the text of one script.
func Parse(name, text string) (*Scenario, error) {
	sc := &Scenario{Name: name, Config: DefaultConfig()}
	var replaceable *Step // the step a gvisor: line replaces
	sawStep := false
	for i, raw := range strings.Split(text, "\n") {
		lineNo := i + 1
		fail := func(format string, args ...any) error {
			return fmt.Errorf("line %d: %q: %w: %s", lineNo, strings.TrimSpace(raw), ErrSyntax, fmt.Sprintf(format, args...))
		}
		line, comment := splitComment(raw)
		line = strings.TrimSpace(line)
		if line == "" {
			if comment != "" && !sawStep && sc.Title == "" {
				sc.Title = comment
			}
			continue
		}
		key, rest, hasColon := strings.Cut(line, ":")
		if hasColon && !strings.ContainsAny(key, "\"=") {
			rest = strings.TrimSpace(rest)
			switch key {
			case "rfc":
				if rest == "" {
					return nil, fail("empty rule")
				}
				sc.Rules = append(sc.Rules, rest)
				continue
			case "config":
				if err := parseConfig(&sc.Config, rest); err != nil {
					return nil, fail("%v", err)
				}
				continue
			case "skip gvisor":
				if rest == "" {
					return nil, fail("skip gvisor: needs a written reason")
				}
				sc.SkipGVisor = rest
				continue
			case "gvisor":
				if replaceable == nil {
					return nil, fail("gvisor: must follow the step it replaces (any step but in)")
				}
				if !strings.Contains(strings.ToUpper(comment), "RFC") {
					return nil, fail("gvisor: needs a citation: a comment naming the RFC rule")
				}
				st, err := parseStep(rest)
				if err != nil {
					return nil, fail("%v", err)
				}
				if st.Kind == StepIn {
					return nil, fail("gvisor: cannot send a different segment: both stacks get the same input")
				}
				st.Line, st.Text, st.Cite = lineNo, "gvisor: "+rest, comment
				if replaceable.GVisor == nil {
					replaceable.Cite = comment
				}
				replaceable.GVisor = append(replaceable.GVisor, st)
				continue
			case "gvisor skips":
				// "gvisor skips: # citation": gVisor does not do this step.
				if replaceable == nil {
					return nil, fail("gvisor skips: must follow the step it skips (any step but in)")
				}
				if !strings.Contains(strings.ToUpper(comment), "RFC") {
					return nil, fail("gvisor skips: needs a citation")
				}
				replaceable.GVisor = []Step{}
				replaceable.Cite = comment
				continue
			default:
				return nil, fail("unknown header %q", key)
			}
		}
		st, err := parseStep(line)
		if err != nil {
			return nil, fail("%v", err)
		}
		st.Line, st.Text = lineNo, line
		sawStep = true
		if st.Kind == StepUser && st.Call == CallOpenActive {
			sc.Active = true
		}
		sc.Steps = append(sc.Steps, st)
		replaceable = nil
		if st.Kind != StepIn {
			replaceable = &sc.Steps[len(sc.Steps)-1]
		}
	}
	switch {
	case sc.Title == "":
		return nil, fmt.Errorf("%w: no title (the first line must be a # comment)", ErrSyntax)
	case len(sc.Rules) == 0:
		return nil, fmt.Errorf("%w: no rfc: line", ErrSyntax)
	case len(sc.Steps) == 0:
		return nil, fmt.Errorf("%w: no steps", ErrSyntax)
	}
	return sc, nil
}

// splitComment cuts a line at the first # that is not inside quotes.
func splitComment(s string) (line, comment string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if inQuote {
				i++
			}
		case '"':
			inQuote = !inQuote
		case '#':
			if !inQuote {
				return s[:i], strings.TrimSpace(s[i+1:])
			}
		}
	}
	return s, ""
}

func parseConfig(c *Config, s string) error {
	for _, kv := range strings.Fields(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("config %q: want key=value", kv)
		}
		var err error
		switch k {
		case "msl":
			c.MSL, err = time.ParseDuration(v)
		case "rto-min":
			c.MinRTO, err = time.ParseDuration(v)
		case "rto-max":
			c.MaxRTO, err = time.ParseDuration(v)
		case "fin-wait-2":
			c.FinWait2Timeout, err = time.ParseDuration(v)
		case "delayed-ack":
			if v == "off" {
				c.DelayedACK = 0
			} else {
				c.DelayedACK, err = time.ParseDuration(v)
			}
		case "syn-retries":
			c.SynRetries, err = strconv.Atoi(v)
		case "synack-retries":
			c.SynAckRetries, err = strconv.Atoi(v)
		case "data-retries":
			c.DataRetries, err = strconv.Atoi(v)
		case "recv-buffer":
			c.RecvBuffer, err = strconv.Atoi(v)
		case "user-timeout":
			c.UserTimeout, err = time.ParseDuration(v)
		case "keepalive-idle":
			c.KeepAliveIdle, err = time.ParseDuration(v)
		case "keepalive-interval":
			c.KeepAliveInterval, err = time.ParseDuration(v)
		case "keepalive-count":
			c.KeepAliveCount, err = strconv.Atoi(v)
		case "rfc1337":
			c.RFC1337, err = parseOnOff(v)
		case "sack":
			c.SACK, err = parseOnOff(v)
		case "timestamps":
			c.Timestamps, err = parseOnOff(v)
		case "rack":
			c.RACK, err = parseOnOff(v)
		case "invalid-ratelimit":
			if v == "off" {
				c.InvalidRateLimit = 0
			} else {
				c.InvalidRateLimit, err = time.ParseDuration(v)
			}
		case "congestion":
			if v != "cubic" && v != "newreno" {
				err = fmt.Errorf("want cubic or newreno")
			}
			c.Congestion = v
		case "peer-isn", "iss":
			var n uint64
			n, err = strconv.ParseUint(v, 10, 32)
			if k == "peer-isn" {
				c.PeerISN = uint32(n)
			} else {
				c.ISS = uint32(n)
			}
		default:
			return fmt.Errorf("unknown config key %q", k)
		}
		if err != nil {
			return fmt.Errorf("config %s: %w", kv, err)
		}
	}
	return nil
}

func parseOnOff(v string) (bool, error) {
	switch v {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("want on or off")
}

func parseStep(s string) (Step, error) {
	verb, rest, _ := strings.Cut(s, " ")
	rest = strings.TrimSpace(rest)
	var st Step
	switch verb {
	case "in", "out":
		if verb == "out" && rest == "nothing" {
			st.Kind = StepNothing
			return st, nil
		}
		st.Kind = StepIn
		if verb == "out" {
			st.Kind = StepOut
		}
		seg, err := parseSeg(rest)
		if err != nil {
			return st, err
		}
		if st.Kind == StepIn {
			if err := checkInOptions(&seg); err != nil {
				return st, err
			}
			if !seg.Seq.Set {
				return st, fmt.Errorf("in: seq= is required")
			}
			if seg.Flags.Has(tcp.FlagACK) && !seg.Ack.Set {
				return st, fmt.Errorf("in: a segment with ACK needs ack=")
			}
		}
		if st.Kind == StepOut && seg.TS != nil && seg.TS.Ecr.Kind == TSLast {
			return st, fmt.Errorf("out: TSecr echoes the peer's TSval: write the number (or *)")
		}
		st.Seg = seg
	case "state":
		st.Kind = StepState
		found := false
		for s := tcp.Closed; s <= tcp.TimeWait; s++ {
			if s.String() == rest {
				st.State, found = s, true
			}
		}
		if !found {
			return st, fmt.Errorf("unknown state %q (use the RFC 9293 names, e.g. SYN-RECEIVED)", rest)
		}
	case "error":
		st.Kind = StepError
		switch rest {
		case "none", "refused", "reset", "timeout", "aborted":
			st.Err = rest
		default:
			return st, fmt.Errorf("unknown error %q: want none, refused, reset, timeout or aborted", rest)
		}
	case "after":
		st.Kind = StepAfter
		d, err := time.ParseDuration(rest)
		if err != nil || d <= 0 {
			return st, fmt.Errorf("after: want a positive duration such as 200ms or 2m")
		}
		st.Duration = d
	case "user":
		st.Kind = StepUser
		return st, parseCall(&st, rest)
	default:
		return st, fmt.Errorf("unknown step %q", verb)
	}
	return st, nil
}

func parseCall(st *Step, s string) error {
	if rest, ok := strings.CutSuffix(s, " fails"); ok {
		st.Fails = true
		s = rest
	} else if s == "fails" {
		return fmt.Errorf("user fails: which call?")
	}
	name, rest, _ := strings.Cut(s, " ")
	rest = strings.TrimSpace(rest)
	noArgs := func() error {
		if rest != "" {
			return fmt.Errorf("user %s takes no argument", name)
		}
		return nil
	}
	switch name {
	case "open":
		switch rest {
		case "passive":
			st.Call = CallOpenPassive
		case "active":
			st.Call = CallOpenActive
		default:
			return fmt.Errorf("user open: want passive or active")
		}
	case "send":
		st.Call = CallSend
		p, err := parsePayload(rest)
		if err != nil {
			return err
		}
		if !p.Set {
			return fmt.Errorf(`user send: want "text" or len=N`)
		}
		st.Data = p
	case "shutdown":
		st.Call = CallShutdown
		return noArgs()
	case "close":
		st.Call = CallClose
		return noArgs()
	case "abort":
		st.Call = CallAbort
		return noArgs()
	case "read":
		st.Call = CallRead
		switch rest {
		case "":
			st.Read = ReadAnything
		case "nothing":
			st.Read = ReadNothing
		case "eof":
			st.Read = ReadEOF
		default:
			p, err := parsePayload(rest)
			if err != nil {
				return err
			}
			st.Read, st.Data = ReadData, p
		}
	default:
		return fmt.Errorf("unknown user call %q", name)
	}
	return nil
}

// parsePayload parses "text" (Go string syntax), data="text" or len=N.
func parsePayload(s string) (Payload, error) {
	s = strings.TrimPrefix(s, "data=")
	switch {
	case strings.HasPrefix(s, `"`):
		text, err := strconv.Unquote(s)
		if err != nil {
			return Payload{}, fmt.Errorf("bad quoted data %s", s)
		}
		return Payload{Set: true, Bytes: []byte(text), Len: len(text)}, nil
	case strings.HasPrefix(s, "len="):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "len="))
		if err != nil || n < 0 {
			return Payload{}, fmt.Errorf("bad %s", s)
		}
		return Payload{Set: true, Len: n}, nil
	}
	return Payload{}, fmt.Errorf("want \"text\" or len=N, got %q", s)
}

// parseFlags parses SYN, SYN-ACK, FIN+PSH+ACK, none ...
func parseFlags(s string) (tcp.Flags, error) {
	if s == "none" {
		return 0, nil
	}
	var f tcp.Flags
	for _, name := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '+' }) {
		switch name {
		case "FIN":
			f |= tcp.FlagFIN
		case "SYN":
			f |= tcp.FlagSYN
		case "RST":
			f |= tcp.FlagRST
		case "PSH":
			f |= tcp.FlagPSH
		case "ACK":
			f |= tcp.FlagACK
		case "URG":
			f |= tcp.FlagURG
		default:
			return 0, fmt.Errorf("unknown flag %q in %q", name, s)
		}
	}
	if f == 0 {
		return 0, fmt.Errorf("no flags in %q (write none for a segment without flags)", s)
	}
	return f, nil
}

// tokenize splits fields on spaces, keeping quoted strings whole.
func tokenize(s string) ([]string, error) {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		end := strings.IndexByte(s, ' ')
		if q := strings.IndexByte(s, '"'); q >= 0 && (end < 0 || q < end) {
			// The field holds a quoted string: find its closing quote.
			j := q + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated quote")
			}
			end = j + 1
			if end < len(s) && s[end] != ' ' {
				return nil, fmt.Errorf("text after a quoted string")
			}
		}
		if end < 0 {
			end = len(s)
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out, nil
}

func parseSeg(s string) (SegSpec, error) {
	spec := SegSpec{Win: -1, MSS: -1, WS: -1}
	fields, err := tokenize(s)
	if err != nil {
		return spec, err
	}
	if len(fields) == 0 {
		return spec, fmt.Errorf("missing flags")
	}
	if spec.Flags, err = parseFlags(fields[0]); err != nil {
		return spec, err
	}
	for _, f := range fields[1:] {
		switch f {
		case "sackok":
			spec.SACKOK = Present
			continue
		case "nosackok":
			spec.SACKOK = Absent
			continue
		case "nows":
			spec.NoWS = true
			continue
		case "nosack":
			spec.NoSACK = true
			continue
		case "nots":
			spec.NoTS = true
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return spec, fmt.Errorf("field %q: want key=value (or sackok, nosackok, nows, nosack, nots)", f)
		}
		switch k {
		case "sack":
			if spec.SACK, err = parseBlocks(v); err != nil {
				return spec, fmt.Errorf("%s: %w", f, err)
			}
		case "ts":
			ts, err := parseTimestamps(v)
			if err != nil {
				return spec, fmt.Errorf("%s: %w", f, err)
			}
			spec.TS = ts
		case "seq", "ack":
			n, err := parseNumber(v)
			if err != nil {
				return spec, fmt.Errorf("%s: %w", f, err)
			}
			if k == "seq" {
				spec.Seq = n
			} else {
				spec.Ack = n
			}
		case "win", "mss", "ws":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 0xffff {
				return spec, fmt.Errorf("bad %s", f)
			}
			switch k {
			case "win":
				spec.Win = n
			case "mss":
				spec.MSS = n
			case "ws":
				spec.WS = n
			}
		case "len", "data":
			p, err := parsePayload(f)
			if err != nil {
				return spec, err
			}
			spec.Data = p
		default:
			return spec, fmt.Errorf("unknown field %q", k)
		}
	}
	return spec, nil
}

// checkInOptions rejects what only an out line can say: the peer sends
// an option or does not, and sends definite timestamps.
func checkInOptions(seg *SegSpec) error {
	switch {
	case seg.SACKOK == Absent, seg.NoWS, seg.NoSACK, seg.NoTS:
		return fmt.Errorf("in: nosackok, nows, nosack and nots are for out lines (leave the option out)")
	case seg.TS != nil && seg.TS.Val.Kind != TSNumber:
		return fmt.Errorf("in: the peer's TSval must be a number")
	case seg.TS != nil && seg.TS.Ecr.Kind == TSAny:
		return fmt.Errorf("in: TSecr must be a number or last")
	}
	return nil
}

// parseBlocks parses SACK blocks: L-R,L-R (each edge a number as seq=
// takes, so -5--3 is a block below the ISN).
func parseBlocks(v string) ([]Block, error) {
	var out []Block
	for _, b := range strings.Split(v, ",") {
		// The dash between the edges follows a digit; a leading one is a sign.
		cut := -1
		for i := 1; i < len(b); i++ {
			if b[i] == '-' && b[i-1] >= '0' && b[i-1] <= '9' {
				cut = i
				break
			}
		}
		if cut < 0 {
			return nil, fmt.Errorf("block %q: want L-R", b)
		}
		l, err := parseNumber(b[:cut])
		if err != nil {
			return nil, err
		}
		r, err := parseNumber(b[cut+1:])
		if err != nil {
			return nil, err
		}
		out = append(out, Block{Left: l, Right: r})
	}
	if len(out) > tcp.MaxSACKBlocks {
		return nil, fmt.Errorf("at most %d blocks fit in a segment", tcp.MaxSACKBlocks)
	}
	return out, nil
}

// parseTimestamps parses VAL:ECR, each a number, * (any) or last (the
// stack's latest TSval).
func parseTimestamps(v string) (*Timestamps, error) {
	val, ecr, ok := strings.Cut(v, ":")
	if !ok {
		return nil, fmt.Errorf("want VAL:ECR")
	}
	var ts Timestamps
	for _, f := range []struct {
		s   string
		dst *TSValue
	}{{val, &ts.Val}, {ecr, &ts.Ecr}} {
		switch f.s {
		case "*":
			f.dst.Kind = TSAny
		case "last":
			f.dst.Kind = TSLast
		default:
			n, err := strconv.ParseUint(f.s, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("bad timestamp %q: want a number, * or last", f.s)
			}
			f.dst.V = uint32(n)
		}
	}
	if ts.Val.Kind == TSLast {
		return nil, fmt.Errorf("last is for the echo: ts=VAL:last")
	}
	return &ts, nil
}

func parseNumber(v string) (Number, error) {
	n := Number{Set: true}
	if rest, ok := strings.CutPrefix(v, "abs:"); ok {
		n.Abs = true
		v = rest
	}
	x, err := strconv.ParseInt(v, 10, 64)
	if err != nil || x > 1<<32-1 || x < -(1<<31) {
		return n, fmt.Errorf("bad number %q", v)
	}
	n.V = x
	return n, nil
}
