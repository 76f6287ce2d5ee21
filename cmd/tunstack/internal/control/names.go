package control

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tunstack/tunstack/stack/tcp"
)

// The one encoding of TCP states, flags and reasons for everything the
// command line writes and reads: the JSON of the protocol, the filters of
// ss and trace, and the labels of the metrics (which package metrics
// writes in lowercase snake case, "syn_received"). States are written by
// their RFC 9293 names ("SYN-RECEIVED", tcp.State.String), flags as
// "SYN|ACK" (tcp.Flags.String), reasons by their codes (tcp.Reason.Code);
// the functions here read them back.

// ConnectionStates are the states a connection can be in: all of RFC
// 9293's but CLOSED, which has no TCB.
var ConnectionStates = []tcp.State{
	tcp.Listen, tcp.SynSent, tcp.SynReceived, tcp.Established, tcp.FinWait1, tcp.FinWait2,
	tcp.CloseWait, tcp.Closing, tcp.LastAck, tcp.TimeWait,
}

// ParseState finds a state by its RFC name ("SYN-RECEIVED"); an empty or
// unknown name is CLOSED and not ok.
func ParseState(name string) (tcp.State, bool) {
	if name == tcp.Closed.String() {
		return tcp.Closed, true
	}
	for _, st := range ConnectionStates {
		if st.String() == name {
			return st, true
		}
	}
	return tcp.Closed, false
}

// StateCounts writes a count of connections per state with the states'
// names.
func StateCounts(counts map[tcp.State]int) map[string]int {
	m := make(map[string]int, len(counts))
	for st, n := range counts {
		m[st.String()] = n
	}
	return m
}

// ssStateNames are the state names ss takes (ss(8), STATE-FILTER) besides
// the RFC names in any case: its spellings and its groups of states.
var ssStateNames = map[string][]tcp.State{
	"syn-recv":     {tcp.SynReceived},
	"listening":    {tcp.Listen},
	"estab":        {tcp.Established},
	"all":          append([]tcp.State{tcp.Closed}, ConnectionStates...),
	"connected":    ConnectionStates[1:],
	"synchronized": ConnectionStates[2:],
	"bucket":       {tcp.SynReceived, tcp.TimeWait},
	"big": {tcp.Closed, tcp.Listen, tcp.SynSent, tcp.Established, tcp.FinWait1, tcp.FinWait2,
		tcp.CloseWait, tcp.Closing, tcp.LastAck},
}

// ParseStates reads state names as people type them for ss and trace:
// ss's ("established", "time-wait", "syn-recv", "connected", ...) or the
// RFC's in any case, comma-separated or one per value. It returns RFC
// names, each once.
func ParseStates(values []string) ([]string, error) {
	var names []string
	add := func(st tcp.State) {
		if !slices.Contains(names, st.String()) {
			names = append(names, st.String())
		}
	}
	for _, v := range values {
		for _, name := range strings.Split(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if group, ok := ssStateNames[name]; ok {
				for _, st := range group {
					add(st)
				}
				continue
			}
			st, ok := ParseState(strings.ToUpper(name))
			if !ok {
				return nil, fmt.Errorf("unknown state %q: want an RFC 9293 state (established, syn-sent, syn-received, fin-wait-1, fin-wait-2, close-wait, closing, last-ack, time-wait, listen, closed) or all, connected, synchronized, bucket, big", name)
			}
			add(st)
		}
	}
	return names, nil
}

// Flags are TCP flags written as "SYN|ACK".
type Flags tcp.Flags

func (f Flags) MarshalText() ([]byte, error) {
	return []byte(tcp.Flags(f).String()), nil
}

// UnmarshalText reads what MarshalText writes; names it does not know
// are left out.
func (f *Flags) UnmarshalText(text []byte) error {
	*f = 0
	for _, name := range strings.Split(string(text), "|") {
		for bit := range 8 {
			if tcp.Flags(1<<bit).String() == name {
				*f |= Flags(1 << bit)
			}
		}
	}
	return nil
}

// reasonsByCode finds a tcp.Reason by its code.
var reasonsByCode = func() map[string]tcp.Reason {
	m := map[string]tcp.Reason{}
	for r := tcp.ReasonNone + 1; r.Code() != "unknown"; r++ {
		m[r.Code()] = r
	}
	return m
}()

// ParseReason finds a reason by its code ("rst-in-window"); an unknown
// code is tcp.ReasonNone and not ok.
func ParseReason(code string) (tcp.Reason, bool) {
	r, ok := reasonsByCode[code]
	return r, ok
}
