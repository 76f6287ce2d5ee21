// Package ss lists a daemon's connections as `tunstack ss` prints them:
// it reads ss's filters (states by ss's names or the RFC's, exclude,
// listeners, ss's expressions such as dport = :80, --stuck) and writes
// the connections of a status reply as iproute2's ss does (ss -i's line
// and ss -o's timer in ss's fields, order and units), as JSON, or, for
// --stuck, with what each connection waits for in words.
//
// It asks the daemon nothing itself (the command fetches the status) and
// registers no flags.
package ss

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
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
	// the RFC's); none lists every connection but listeners. Excluded
	// are left out (ss's exclude): of all states when States is empty.
	States    []string
	Excluded  []string
	All       bool // listeners too
	Listening bool // listeners only
	// Expr is ss's filter expression (dport = :80, ...); nil for none.
	Expr *Expr
	// IPv4 and IPv6 keep only connections of that family (-4, -6).
	IPv4, IPv6 bool
	JSON       bool
	Display    Display
	// Stuck lists only the connections that have been MinAge or longer
	// in StuckStates, and what each waits for.
	Stuck  bool
	MinAge time.Duration
}

// AddFilter takes the positional arguments: ss's state and exclude
// selections and its expression (ParseFilter).
func (o *Options) AddFilter(args []string) error {
	f, err := ParseFilter(args)
	if err != nil {
		return err
	}
	o.States = append(o.States, f.States...)
	o.Excluded = append(o.Excluded, f.Excluded...)
	o.Expr = f.Expr
	return nil
}

// Matcher checks the options and turns them into a filter.
func (o *Options) Matcher() (*control.Matcher, error) {
	states, err := control.ParseStates(o.States)
	if err != nil {
		return nil, err
	}
	excluded, err := control.ParseStates(o.Excluded)
	if err != nil {
		return nil, err
	}
	switch {
	case len(states) > 0:
	case len(excluded) > 0 || o.All:
		states, _ = control.ParseStates([]string{"all"})
	case o.Listening:
		states = []string{tcp.Listen.String()}
	default:
		all, _ := control.ParseStates([]string{"all"})
		for _, st := range all {
			if st != tcp.Listen.String() {
				states = append(states, st)
			}
		}
	}
	states = slices.DeleteFunc(states, func(st string) bool { return slices.Contains(excluded, st) })
	if len(states) == 0 {
		return nil, fmt.Errorf("every state is excluded: nothing to list")
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
	if o.IPv4 && o.IPv6 {
		return nil, fmt.Errorf("-4 and -6 do not go together")
	}
	f := o.Ends
	f.States = states
	return f.Compile()
}

// match reports whether a connection passes what the matcher does not
// check: the expression and the address family.
func (o *Options) match(c *control.ConnStatus) bool {
	local, _ := netip.ParseAddrPort(c.Local)
	remote, _ := netip.ParseAddrPort(c.Remote)
	return o.Expr.Match(local, remote) &&
		(!o.IPv4 || local.Addr().Unmap().Is4()) && (!o.IPv6 || !local.Addr().Unmap().Is4())
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
		if !m.MatchConn(&conn) || !o.match(&conn) || o.Stuck && !stuck(&conn, o.MinAge) {
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
		writeSS(w, shown, o.Display)
	}
	return nil
}
