// Package crosscheck plays scenario scripts (tests/scenarios/*.txt, format in
// tests/scenarios/README.md) against two TCP implementations and checks
// both: tunstack's sans-IO engine (stack/tcp, driven directly on a virtual
// clock) and gVisor's netstack (gvisor.dev/gvisor/pkg/tcpip on a channel
// link endpoint and a manual clock). A script says which segments the peer
// sends and when, and which segments, states and errors must follow; where
// gVisor rightly differs from RFC 9293, the script says what gVisor does
// instead and cites the RFC. Every state change of tunstack's engine must
// also be an edge of RFC 9293's Figure 5 (tcp.CheckTransition).
//
// scenario.go holds what a parsed script is; parse.go reads one, with
// parse_config.go for its config: line, parse_step.go for its steps and
// parse_segment.go for the segments of in and out lines. play.go plays a
// script, translating its relative sequence numbers to and from the
// segments' own; Engine (engine.go) is what play.go drives, met by
// tunstack.go and gvisor.go. The test in scenarios_test.go runs every
// script on both and prints a summary.
//
// What it does not do: it models one connection between one stack address
// and one peer (no second peer, no IPv6, no ICMP), and it checks only the
// fields a script writes down (a window or an option that is not written is
// not compared). It is test machinery: nothing in the daemon imports it.
package crosscheck
