// Package wire is the stack's packet codec: it parses and builds the
// packets the stack exchanges over its link: IPv4 and IPv6 headers, TCP
// segments with the options the engine uses (MSS, window scale,
// SACK-permitted, SACK blocks, timestamps), and the ICMP messages a host
// must answer or heed, with their Internet checksums.
//
// It is the stack's hot path, so parsing and building never allocate:
// parsed payloads are sub-slices of the packet, and builders write into a
// buffer the caller owns. Every rejected packet yields a sentinel *Error
// whose Code is a stable label for drop counters.
//
// ParseIP rejects IP fragments with ErrFragment; ParseFragment parses them
// and Reassembled rebuilds a datagram from them, for stack/ipfrag, which
// keeps them until they are complete. BuildFragment cuts a packet into
// fragments (the stack's large echo replies); ReassemblyTimeExceeded
// builds the ICMP error for a datagram given up.
//
// What it does not do: IPv4 options and IPv6 jumbograms (options are
// skipped; jumbograms are rejected), IPv6 routing (a routing header with
// segments left is rejected), TCP options other than those above (skipped
// by their length), UDP, and any policy: which addresses are ours, whether
// to answer an ICMP message and what an ICMP error means for a connection
// are the stack's decisions.
package wire
