package crosscheck

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tunstack/tunstack/stack/tcp"
)

// This file parses what an in or out line says of a segment: its flags,
// numbers, window, options and data.

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
