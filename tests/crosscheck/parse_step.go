package crosscheck

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// parseStep parses one step: an in or out segment, a state, an error, a
// pause or a user call.
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
