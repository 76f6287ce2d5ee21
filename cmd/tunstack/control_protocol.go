package main

// The control protocol between a running daemon (`tunstack up`) and the
// commands that talk to it (`tunstack dial`, `ss` and `trace`).
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
//     ways. A client's shutdown(SHUT_WR) becomes the stack connection's
//     CloseWrite, which sends FIN; the peer's FIN (EOF on the stack
//     connection) becomes shutdown(SHUT_WR) on the daemon's side of the
//     unix connection. When both directions are done the daemon closes both
//     ends. A reset closes the unix connection at once.
//   - status: one reply with the stack's counters and its connections:
//     {"ok":true,"counters":{...},"connections":[{"local":...,"remote":...,
//     "state":"ESTABLISHED","states":["LISTEN",...],...}]} (see connStatus
//     in ss_wire.go). Listeners are listed too, in LISTEN with remote "*".
//     The counters carry the RFC 4022 TCP-MIB, the per-reason counters,
//     the connections per state (see tcpStatus in metrics_status.go) and
//     IP reassembly's counters (fragStatus in metrics_frag.go).
//   - events: a reply {"ok":true}, then one JSON event per line (see
//     wireEvent in trace_wire.go) until the client closes the connection.
//     Events the client is too slow to take are lost, not queued without
//     bound. An optional filter ({"op":"events","filter":{"states":
//     ["ESTABLISHED"],"sport":80}}, see connFilter in ss_filter.go) keeps
//     the events of matching connections only.
//
// Errors are short lower-case phrases meant to follow "dial ADDR: "; for a
// dial they are those of connect(2): "connection refused",
// "connection timed out", "network is unreachable".

import (
	"time"

	"github.com/tunstack/tunstack/stack"
)

// Control operations.
const (
	opDial   = "dial"
	opStatus = "status"
	opEvents = "events"
)

// defaultDialTimeout is the connect time-out when a dial request has none.
const defaultDialTimeout = 10 * time.Second

// controlRequest is the one line a client sends.
type controlRequest struct {
	Op      string `json:"op"`
	Addr    string `json:"addr,omitempty"`
	Timeout string `json:"timeout,omitempty"`
	// Filter selects the events of an events request (ss_filter.go).
	Filter *connFilter `json:"filter,omitempty"`
}

// controlReply is the one line the daemon answers.
type controlReply struct {
	OK    bool   `json:"ok,omitempty"`
	Error string `json:"error,omitempty"`
	// dial
	Local  string `json:"local,omitempty"`
	Remote string `json:"remote,omitempty"`
	// status
	Counters    *counterStatus `json:"counters,omitempty"`
	Connections []connStatus   `json:"connections,omitempty"`
}

// counterStatus is stack.Counters in a status reply.
type counterStatus struct {
	PacketsIn   uint64            `json:"packets_in"`
	PacketsOut  uint64            `json:"packets_out"`
	SegmentsIn  uint64            `json:"segments_in"`
	SegmentsOut uint64            `json:"segments_out"`
	RSTsSent    uint64            `json:"rsts_sent"`
	EchoReplies uint64            `json:"echo_replies"`
	EventsLost  uint64            `json:"events_lost"`
	Drops       map[string]uint64 `json:"drops,omitempty"`
	tcpStatus                     // metrics_status.go: TCP-MIB, per-reason counters, states
	Fragments   fragStatus        `json:"fragments"` // metrics_frag.go: IP reassembly
}

func newCounterStatus(c stack.Counters) *counterStatus {
	return &counterStatus{
		PacketsIn:   c.PacketsIn,
		PacketsOut:  c.PacketsOut,
		SegmentsIn:  c.SegmentsIn,
		SegmentsOut: c.SegmentsOut,
		RSTsSent:    c.RSTsSent,
		EchoReplies: c.EchoReplies,
		EventsLost:  c.EventsLost,
		Drops:       c.Drops,
		tcpStatus:   newTCPStatus(c),
		Fragments:   newFragStatus(c.Fragments),
	}
}
