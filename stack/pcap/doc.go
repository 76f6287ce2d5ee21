// Package pcap records the packets a stack.Stack reads from and writes to
// its link in a pcapng file that Wireshark and tshark open: raw IP link
// type (IPv4 and IPv6 in one file), nanosecond timestamps, the direction
// of each packet in its epb_flags, and a packet comment on every packet
// the stack dropped (why) or sent (the engine's reason). A Writer is a
// stack.Capturer: set it as stack.Options.Capture.
//
// The stack's loop never waits for the disk: CapturePacket copies the
// packet into a bounded queue that a goroutine of the Writer drains. When
// the queue is full the packet is lost from the file (not from the
// network), and the next packet written carries the count in its
// epb_dropcount; Close writes the totals in an interface statistics block.
//
// It does not capture anything by itself, rotate files or filter.
package pcap
