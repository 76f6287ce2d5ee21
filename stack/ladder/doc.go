// Package ladder draws one TCP connection as a ladder diagram: a
// two-column sequence diagram with the client on the left and the server
// on the right, an arrow for every segment that crossed (flags, sequence
// and acknowledgment numbers relative to each side's ISN, x for the
// client's and y for the server's, as in RFC 9293's figures), the state of
// each side beside each step, and the reason the engine gave for each
// state change, drop and notable segment, citing the RFC rule.
//
// Its input is the events a stack.Stack publishes (Stack.Subscribe) for
// one connection, which record what the stack saw and did. The stack's
// own states come from its state changes. The peer's come from the peer
// itself when the caller has them (a PeerReport: for the Linux kernel,
// what its sock:inet_sock_set_state tracepoint said), each change on the
// row of the segment that caused it, with the rule of RFC 9293's Figure 5
// for that edge; otherwise they are inferred from the segments it sent and
// those it was sent, and are marked as inferred (a "~" after the name in
// text, italics in SVG). LinkEvents mark segments the stack sent that were
// lost or held back on the way. A Collector groups a live event stream by
// connection and hands back each one when it has finished. Diagrams render
// as text for a terminal (WriteText) and as SVG (WriteSVG).
//
// What it does not do: read packet captures (only stack events), draw more
// than two parties, show the payload's bytes, or know the peer's states
// for certain without a report: an inferred state is what a standard peer
// would be in.
package ladder
