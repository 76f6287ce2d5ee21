// Package stack is the host around the TCP engine: it reads batches of IP
// packets from a Link, drops martian and malformed packets (each counted
// by its reason), reassembles fragments (stack/ipfrag), answers ICMP and
// ICMPv6 echo requests, hands ICMP errors to the connection whose segment
// they quote (RFC 9293 §3.9.1: PMTU discovery, hard and soft errors),
// demultiplexes TCP segments to connections by 4-tuple and to listeners
// by local address, runs the sans-IO engine of stack/tcp, and writes what
// the engine sends back to the link in batches. Beside TCP it carries UDP
// (udp.go): sockets with bounded receive queues, ICMP port unreachables
// for closed ports, a hook for a gateway (udp_forward.go). Applications
// use it through net.Listener, net.Conn and net.PacketConn (Listen,
// DialContext, ListenPacket), and the built-in services (HTTP, echo,
// discard, UDP echo) run on those. A listener bounds
// its half-open and accept queues apart and answers SYNs with SYN cookies
// (RFC 4987) once the first is full (listen_queue.go); a connection in
// TIME-WAIT with nothing left to read shrinks to the engine's compact
// record (timewait.go). Answers that a forged segment can draw (RSTs, echo
// replies, challenge ACKs) are rate-limited (ratelimit.go). Counters,
// a stream of events (Subscribe) and a packet capture hook (Options.Capture)
// show what it does.
//
// The event loop (loop.go) is two goroutines that take turns under one
// lock, so that one of them at a time owns every engine connection, the
// demultiplexing tables and the timers: a reader that blocks in the link's
// Read and runs each batch it reads through the engine itself, and a
// second one that waits for application wakeups, calls (Dial,
// Connections), the loop's one timer (a hashed timer wheel behind it) and
// shutdown. A third goroutine writes bursts of output to the link, in
// order, while the loop goes on (writer.go): a TUN write runs the kernel's
// receive path inside the syscall. Applications never lock the engine;
// they talk to the loop through per-connection byte queues and wakeups
// (conn.go, conn_loop.go).
//
// The stack fragments only echo replies and UDP datagrams larger than the
// MTU, as TCP's MSS keeps every segment within it.
//
// What it does not do: UDP broadcast and multicast, IP options (skipped),
// routing (every packet goes back out of the one link), sending ICMP
// errors other than UDP's port unreachables and reassembly time-outs,
// loopback of packets sent to its own addresses,
// and more than one loop (no sharding across TUN queues yet). It never
// imports tundev: any Link will do.
package stack
