// Package rawpeer plays a TCP peer by hand from the kernel side of a TUN
// device inside a network namespace, so that a test can drive the stack
// behind the device segment by segment, as a remote host the test fully
// controls.
//
// A Peer sends hand-built IPv4 or IPv6 packets with a raw socket
// (IPPROTO_RAW, so the test writes the whole IP header, fragment fields and
// fragment headers included: the kernel sends such packets as they are)
// and captures everything that crosses the device, both ways, with an
// AF_PACKET socket bound to it. On a TUN device the captured frames are
// bare IP packets; each is parsed into the engine's types (Packet.Seg) and
// kept as bytes (Packet.Raw) for testkit's checkers. The capture reads each
// frame's virtio-net header too: a TUN with offloads carries GSO
// super-packets, several segments in one, and Packet.GSOSize and
// SegmentSizes give the segments they stand for.
//
// The peer's address is one the kernel does not own, on the device's
// subnet: the kernel routes packets to it into the TUN, and drops what the
// stack sends back to it (Open turns forwarding off in the namespace), so no
// kernel TCP socket answers the stack's segments with a RST of its own.
//
// A Flooder sends hand-built packets (a spoofed SYN flood, garbage) from
// the same place as fast as it can or at a rate, for the tests under load.
//
// It does not implement TCP: it keeps no state beyond the capture log, and
// the caller picks every sequence number. A Peer speaks one family, that of
// its addresses, and it must run as root. Nothing it sends leaves the
// namespace it was opened in.
package rawpeer
