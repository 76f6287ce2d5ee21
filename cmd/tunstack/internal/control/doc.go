// Package control is the protocol between a running daemon (`tunstack up`)
// and the commands that talk to it (`tunstack dial`, `ss`, `trace` and the
// bench): its requests and replies, the status of connections and
// counters, the events, the server that answers on the daemon's side and
// the client of the commands, and the one encoding of TCP states, flags
// and reasons that all of them use (names.go).
//
// The daemon listens on a unix stream socket, by default
// /run/tunstack/DEV.sock, or /run/tunstack/NETNS-DEV.sock when the device
// lives in a namespace. The socket exists only while the stack is running:
// it is created after the stack starts and removed after the device is
// gone, so its presence means "ready".
//
// One connection carries one request. The client writes one JSON object on
// one line; the daemon answers with one JSON object on one line:
//
//	{"op":"dial","addr":"10.77.0.1:9000","timeout":"10s"}
//	{"ok":true,"local":"10.77.0.2:49152","remote":"10.77.0.1:9000"}
//
// or, when the request fails,
//
//	{"error":"connection refused"}
//
// after which the daemon closes the connection.
//
// Operations:
//
//   - dial: an active open from the stack to addr (an IP literal and a
//     port), giving up after timeout (a Go duration, default 10s). After a
//     successful reply the unix connection carries the TCP byte stream both
//     ways: plain from the client, framed from the daemon (frame.go), so
//     that the end says how the connection ended. A client's
//     shutdown(SHUT_WR) becomes the stack connection's CloseWrite, which
//     sends FIN; the peer's FIN (EOF on the stack connection) becomes a FIN
//     frame. When both directions are done the daemon closes both ends. A
//     reset, or the daemon shutting down, ends the session with a frame
//     that says why, and the daemon closes it.
//   - status: one reply with the stack's counters and its connections:
//     {"ok":true,"counters":{...},"connections":[{"local":...,"remote":...,
//     "state":"ESTABLISHED","states":["LISTEN",...],...}]} (see ConnStatus
//     in status.go). Listeners are listed too, in LISTEN with remote "*".
//     The counters carry the RFC 4022 TCP-MIB, the per-reason counters,
//     the connections per state, the memory bounds and IP reassembly's
//     counters (see CounterStatus in counters.go).
//   - events: a reply {"ok":true}, then one JSON event per line (see Event
//     in event.go) until the client closes the connection. Events the
//     client is too slow to take are lost, not queued without bound. An
//     optional filter ({"op":"events","filter":{"states":["ESTABLISHED"],
//     "sport":80}}, see Filter in filter.go) keeps the events of matching
//     connections only.
//   - memstats: one reply with what the daemon's memory holds after a
//     garbage collection (see Memstats in memstats.go), for the bench.
//
// Errors are short lower-case phrases meant to follow "dial ADDR: "; for a
// dial they are those of connect(2): "connection refused",
// "connection timed out", "network is unreachable".
//
// This package formats nothing for people (packages ss and trace do) and
// runs no stack: the daemon gives the server a Backend.
package control
