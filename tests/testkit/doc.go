// Package testkit is the one package of helpers that the tests of every
// tunstack package share: polling with a deadline, root and network
// namespace set-up, and packet builders and checkers.
//
//   - Waiting: Poll, WaitFor and Eventually poll a condition until it holds
//     or a deadline passes. They are how a test waits for something that
//     runs on the real clock; tests never sleep a fixed time instead.
//   - Privileges and places: RequireRoot skips a test that needs root on a
//     developer's machine and fails it when CI is set; AddNamespace makes a
//     network namespace that the test's cleanup removes, InNamespace,
//     ListenIn and DialIn open sockets inside one; ShortTempDir is a
//     directory whose path fits a unix socket; Buffer collects a command's
//     output while the test reads it; HangWatchdog turns a livelock in a
//     fuzz target into a crash with every goroutine's stack.
//   - Building packets: TCPPacket, IPPacket, EchoRequest, ICMPError,
//     UDPPacket and Fragments write IPv4 and IPv6 packets byte by byte, with
//     their checksums (Checksum is the plain RFC 1071 sum); FixChecksums and
//     SetIPLength make a packet that a test has cut or changed consistent
//     again.
//   - Checking packets: checkers compose in the style of gVisor's checker
//     package, each a small function that calls t.Helper and reports what
//     it found: IPv4(t, pkt, SrcAddr(a), TCP(TCPFlags(SYN|ACK), TCPAckNum(1001),
//     TCPMSS(1460))). Matches runs the same checkers as a predicate, to pick
//     a packet out of a capture.
//
// testkit imports nothing of tunstack. Its builders and its decoder are a
// second implementation, written apart from stack/wire (TCP headers and
// options are decoded by gopacket), so that a test of the codec does not
// check the codec with itself, and so that the internal tests of every
// package, stack/wire and stack/tcp included, can import testkit without an
// import cycle. Values come in testkit's own types (Flags, uint32 sequence
// numbers); a test that holds tcp.Seq or tcp.Flags converts them.
//
// What it does not do: it keeps no TCP state (a test that plays a peer keeps
// its own sequence numbers), it does not drive an engine or a stack, and it
// builds only what tests need: IPv4 without options, IPv6 with the extension
// headers a test gives, TCP, UDP and ICMP. It is test code: nothing in the
// daemon imports it.
package testkit
