// Package crosscheck plays scenario scripts (tests/scenarios/*.txt, format in
// tests/scenarios/README.md) against two TCP engines and checks both: tunstack's
// sans-IO engine (stack/tcp, driven directly on a virtual clock) and gVisor's
// netstack (gvisor.dev/gvisor/pkg/tcpip on a channel link endpoint and a
// manual clock). A script says which segments the peer sends and when, and
// which segments, states and errors must follow; where gVisor rightly differs
// from RFC 9293, the script says what gVisor does instead and cites the RFC.
//
// scenario.go holds what a parsed script is and parse.go reads one; play.go
// plays a script on an engine, translating its relative sequence numbers to
// and from the wire; engine.go is the interface both engines meet
// (tunstack.go, gvisor.go). The test in scenarios_test.go runs every script
// on both engines and prints a summary.
//
// What it does not do: it models one connection between one stack address
// and one peer (no second peer, no IPv6, no ICMP), and it checks only the
// fields a script writes down (a window or an option that is not written is
// not compared). It is test machinery: nothing in the daemon imports it.
package crosscheck
