package tcp

import (
	"encoding/binary"
	"time"
)

// initialSequenceNumber follows RFC 6528 §3: ISN = M + F(localip,
// localport, remoteip, remoteport, secretkey), where M is a clock that ticks
// every 4 microseconds and F a keyed PRF, so that an off-path attacker
// cannot guess the ISN of a connection and a new incarnation of a 4-tuple
// starts beyond the old one. F is SipHash-2-4 under the 128-bit ISN key
// (RFC 6528 suggests MD5 and allows any keyed PRF; Linux uses SipHash).
func initialSequenceNumber(key *[16]byte, id ID, now time.Time) Seq {
	var buf [2 * (16 + 2)]byte
	n := putAddrPorts(buf[:], id)
	k0, k1 := sipKey(key[:])
	f := uint32(sipHash24(k0, k1, buf[:n]))
	m := uint32(now.UnixNano() / 4000)
	return Seq(m + f)
}

// putAddrPorts writes the 4-tuple id into b, each address as 16 bytes
// (IPv4 mapped into IPv6) followed by its port, local first, and returns
// how many bytes it wrote: 36.
func putAddrPorts(b []byte, id ID) int {
	l, r := id.Local.Addr().As16(), id.Remote.Addr().As16()
	copy(b, l[:])
	binary.BigEndian.PutUint16(b[16:], id.Local.Port())
	copy(b[18:], r[:])
	binary.BigEndian.PutUint16(b[34:], id.Remote.Port())
	return 36
}
