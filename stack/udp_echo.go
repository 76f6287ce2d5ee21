package stack

import "net"

// ServeUDPEcho sends every datagram back to its sender (RFC 862's UDP
// service) until pc closes, and then returns nil. A datagram the stack
// cannot send back (the send queue full past its write deadline, which it
// sets none of) is lost, as UDP allows.
func ServeUDPEcho(pc net.PacketConn) error {
	buf := make([]byte, 0xffff)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return ignoreClosed(err)
		}
		if _, err := pc.WriteTo(buf[:n], from); err != nil && ignoreClosed(err) == nil {
			return nil
		}
	}
}
