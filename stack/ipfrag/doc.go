// Package ipfrag reassembles IP fragments for a host: IPv4 datagrams
// (RFC 791 §3.2) and IPv6 packets (RFC 8200 §4.5).
//
// A Reassembler is sans-IO, like the engine: it does no I/O, starts no
// goroutines and never reads the clock. The stack hands it each fragment
// with the time (Add), asks when it next has to look at the clock (Next)
// and lets it give up on datagrams whose time is up (Expire); a fragment
// that completes a datagram comes back as the whole datagram, which the
// stack then takes like any packet it reads.
//
// Datagrams are keyed by source, destination, protocol and Identification
// for IPv4 (RFC 791), by source, destination and Fragment Identification
// for IPv6 (RFC 8200). Each keeps its fragments as a list of extents sorted
// by offset that never overlap, which is RFC 815's list of holes seen from
// the other side: the datagram is complete when the last fragment has
// arrived and the extents add up to its length.
//
// Hostile fragments are bounded and refused:
//
//   - an overlapping fragment discards its whole datagram, and the
//     fragments of that datagram that arrive later are dropped until its
//     time-out (RFC 5722; for IPv4 too). An exact duplicate of a fragment
//     already held is dropped and the datagram kept (RFC 5722 erratum
//     3089). Linux also keeps the datagram for a fragment that lies inside
//     data it already holds; this package discards it, as RFC 5722 reads;
//   - tiny fragments: for IPv4 TCP, a fragment at offset 8 and a first
//     fragment of fewer than 16 bytes (RFC 1858 §3.2, RFC 3128); for IPv6,
//     a first fragment that does not hold the whole header chain (RFC 7112);
//   - a datagram that would be longer than 65,535 bytes (RFC 791's length
//     field; RFC 8200 §4.5's Payload Length) is discarded;
//   - the bytes held in incomplete datagrams are bounded (4 MiB, as Linux's
//     ipfrag_high_thresh): the oldest datagrams are evicted to make room;
//     each datagram holds at most 128 fragments;
//   - a datagram is given up when its time is up: 30 s after its first
//     fragment arrived for IPv4 (Linux's ipfrag_time), 60 s for IPv6 (RFC
//     8200 §4.5).
//
// An IPv6 atomic fragment (offset 0, M clear) is a whole packet and comes
// back at once, apart from any datagram with the same key (RFC 6946).
//
// What it does not do: send ICMP (the stack sends the time exceeded message
// that Expire makes possible; RFC 8200's parameter problems are not sent),
// fragment what the stack sends, or keep statistics beyond what its results
// say.
package ipfrag
