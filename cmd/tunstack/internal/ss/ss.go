// Package ss lists a daemon's connections as `tunstack ss` prints them:
// it turns ss's filters (states by ss's names or the RFC's, listeners,
// --stuck) into a control.Matcher, and writes the connections of a status
// reply as ss -tani does, as JSON, or, for --stuck, with what each
// connection waits for in words.
//
// It asks the daemon nothing itself (the command fetches the status) and
// registers no flags.
package ss

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack/tcp"
)

// Options are what `tunstack ss` was asked: which connections, and how to
// print them.
type Options struct {
	// Ends selects connections by their ends; its States are ignored.
	Ends control.Filter
	// States are the states to list, as people type them (ss's names or
	// the RFC's); none lists every connection but listeners.
	States    []string
	All       bool // listeners too
	Listening bool // listeners only
	JSON      bool
	// Stuck lists only the connections that have been MinAge or longer
	// in StuckStates, and what each waits for.
	Stuck  bool
	MinAge time.Duration
}

// ParseStateArgs reads ss's positional filter: "state NAME", repeated.
func ParseStateArgs(args []string) ([]string, error) {
	var states []string
	for i := 0; i < len(args); i += 2 {
		if args[i] != "state" || i+1 == len(args) {
			return nil, fmt.Errorf("unexpected %q: the only positional filter is: state STATE", strings.Join(args[i:], " "))
		}
		states = append(states, args[i+1])
	}
	return states, nil
}

// Matcher checks the options and turns them into a filter.
func (o *Options) Matcher() (*control.Matcher, error) {
	states, err := control.ParseStates(o.States)
	if err != nil {
		return nil, err
	}
	switch {
	case o.Listening:
		states = []string{tcp.Listen.String()}
	case len(states) == 0 && !o.All:
		all, _ := control.ParseStates([]string{"all"})
		for _, st := range all {
			if st != tcp.Listen.String() {
				states = append(states, st)
			}
		}
	}
	if o.Stuck {
		states = intersect(states, StuckStates)
		if len(states) == 0 {
			return nil, fmt.Errorf("--stuck looks at SYN-RECEIVED, FIN-WAIT-2, CLOSE-WAIT and LAST-ACK only")
		}
	}
	if o.MinAge < 0 {
		return nil, fmt.Errorf("--min-age %v: want 0 or more", o.MinAge)
	}
	f := o.Ends
	f.States = states
	return f.Compile()
}

// intersect keeps the elements of a that are in b; an empty a is all of b.
func intersect(a, b []string) []string {
	if len(a) == 0 {
		return b
	}
	var out []string
	for _, s := range a {
		for _, t := range b {
			if s == t {
				out = append(out, s)
			}
		}
	}
	return out
}

// Print writes the connections of conns that m selects, as the options
// say: a JSON array, the stuck ones with what each waits for, or as ss
// -tani does.
func (o *Options) Print(w io.Writer, conns []control.ConnStatus, m *control.Matcher) error {
	var shown []control.ConnStatus
	for _, conn := range conns {
		if !m.MatchConn(&conn) || o.Stuck && !stuck(&conn, o.MinAge) {
			continue
		}
		if o.Stuck {
			conn.WaitingFor = WaitingFor(&conn)
		}
		shown = append(shown, conn)
	}
	switch {
	case o.JSON:
		if shown == nil {
			shown = []control.ConnStatus{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(shown)
	case o.Stuck:
		writeStuck(w, shown, o.MinAge)
	default:
		writeSS(w, shown)
	}
	return nil
}
