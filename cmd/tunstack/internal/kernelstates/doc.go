// Package kernelstates reads the Linux kernel's own TCP states, for the
// kernel's end of connections with the stack, as they change: from the
// kernel's sock:inet_sock_set_state tracepoint, through tracefs, in a
// trace instance of its own (/sys/kernel/tracing/instances/NAME) whose
// filter keeps the kernel's sockets between the given addresses. It mounts
// tracefs where it is not mounted and removes its instance when it closes.
//
// The tracepoint fires in every network namespace and names no namespace:
// a Tracer is exact only where no other namespace uses the same addresses
// and ports at the same time (the demo takes a subnet of its own for that).
//
// What the tracepoint reports is mapped to RFC 9293's states with two
// things of Linux's in mind:
//
//   - A listener answers a SYN with a request socket (TCP_NEW_SYN_RECV),
//     which is not a full socket and fires no tracepoint; the child socket
//     reports LISTEN → SYN_RECV when the handshake's ACK creates it, and
//     SYN_RECV → ESTABLISHED right after. Both are SYN-RECEIVED in the
//     RFC's terms; a change between the two is dropped.
//   - On entering TIME-WAIT the full socket hands the connection to a
//     TIME-WAIT mini-socket and reports → TCP_CLOSE; the mini-socket fires
//     no tracepoint. When a socket leaves FIN-WAIT-1, FIN-WAIT-2 or CLOSING
//     for CLOSE, the Tracer asks sock_diag (in the namespace of the
//     kernel's sockets) for a mini-socket of the same connection, and
//     reports TIME-WAIT if there is one. A socket closed by its program
//     before the peer's FIN lives on as a FIN-WAIT-2 mini-socket whose
//     later move to TIME-WAIT no tracepoint reports: Report reads it
//     again.
//
// What it does not do: trace the kernel's segments or timers, or see the
// end of a TIME-WAIT mini-socket (Linux keeps it 60 s).
package kernelstates
