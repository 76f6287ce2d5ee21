package demo

import (
	"github.com/tunstack/tunstack/stack/tcp"
)

// step is one lesson of the tour.
type step struct {
	name, title string
	// connections is how many TCP connections it makes.
	connections int
	// stackPath and kernelPath are the state paths that RFC 9293's
	// Figure 5 gives each side for this pattern.
	stackPath, kernelPath []tcp.State
	// run does what the step shows; the recorder sees its connections.
	run func(s *session) (outcome, error)
	// verify checks what the state paths do not show (a RST, a
	// retransmission) and says it in lines; nil when there is nothing.
	verify func(c connTrace) ([]string, error)
}

// outcome is what a step has to say.
type outcome struct {
	lines []string // under the step's title
	// after, if not nil, is said once the step's connections have ended.
	after func() []string
}

const (
	closed      = tcp.Closed
	listen      = tcp.Listen
	synSent     = tcp.SynSent
	synReceived = tcp.SynReceived
	established = tcp.Established
	finWait1    = tcp.FinWait1
	finWait2    = tcp.FinWait2
	closeWait   = tcp.CloseWait
	closing     = tcp.Closing
	lastAck     = tcp.LastAck
	timeWait    = tcp.TimeWait
)

// steps are the tour, in order. Together they take each side through
// every state of Figure 5.
var steps = []step{
	{
		name: "kernel-closes-first", title: "the kernel opens and closes first (nc to the stack's echo service)",
		connections: 1, run: kernelClosesFirst,
		stackPath:  []tcp.State{listen, synReceived, established, closeWait, lastAck, closed},
		kernelPath: []tcp.State{closed, synSent, established, finWait1, finWait2, timeWait},
	},
	{
		name: "stack-closes-first", title: "the stack opens and closes first, and waits out 2MSL in TIME-WAIT",
		connections: 1, run: stackClosesFirst,
		stackPath:  []tcp.State{closed, synSent, established, finWait1, finWait2, timeWait, closed},
		kernelPath: []tcp.State{listen, synReceived, established, closeWait, lastAck, closed},
	},
	{
		name: "simultaneous-close", title: "both close at once: the FINs cross, and both sides pass through CLOSING",
		connections: 1, run: simultaneousClose,
		stackPath:  []tcp.State{listen, synReceived, established, finWait1, closing, timeWait, closed},
		kernelPath: []tcp.State{closed, synSent, established, finWait1, closing, timeWait},
	},
	{
		name: "closed-port", title: "a connection to a closed port ends in RST",
		connections: 1, run: closedPort, verify: verifyRefused,
		stackPath:  []tcp.State{closed, synSent, closed},
		kernelPath: []tcp.State{closed},
	},
	{
		name: "retransmission", title: "a lost SYN: the retransmission timer sends it again after the RTO",
		connections: 1, run: retransmission, verify: verifyRetransmission,
		stackPath:  []tcp.State{closed, synSent, established, closeWait, lastAck, closed},
		kernelPath: []tcp.State{listen, synReceived, established, finWait1, finWait2, timeWait},
	},
	{name: "ping", title: "ICMP echo over IPv4", run: ping4},
	{name: "ping6", title: "ICMPv6 echo over IPv6", run: ping6},
}

func stepIndex(name string) int {
	for i, st := range steps {
		if st.name == name {
			return i
		}
	}
	return -1
}
