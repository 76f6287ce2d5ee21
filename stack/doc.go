// Package stack is the host around the TCP engine: it reads batches of IP
// packets from a Link, answers ICMP and ICMPv6 echo requests, demultiplexes
// TCP segments to connections by 4-tuple and to listeners by local address,
// runs the sans-IO engine of stack/tcp, and writes what the engine sends
// back to the link in batches. Applications use it through net.Listener and
// net.Conn (Listen, DialContext), and the built-in services (HTTP, echo,
// discard) run on those. A listener bounds its half-open and accept
// queues apart and answers SYNs with SYN cookies (RFC 4987) once the first
// is full (listen_queue.go).
//
// One goroutine, the event loop, owns every engine connection, the
// demultiplexing tables and the timers; applications never lock the engine
// but talk to the loop through per-connection byte queues and wakeups.
//
// IP fragments are reassembled (stack/ipfrag, within a memory bound and a
// time-out) and the whole datagram is taken like any packet; the stack
// fragments only echo replies larger than the MTU, as TCP's MSS keeps
// every segment within it.
//
// What it does not do: UDP, IP options,
// routing (every packet goes back out of the one link), ICMP errors for
// connections (they are counted and dropped), loopback of packets sent to
// its own addresses, and more than one loop (no sharding across TUN
// queues yet).
package stack
