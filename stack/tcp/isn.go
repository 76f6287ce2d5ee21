package tcp

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// initialSequenceNumber follows RFC 6528 §3: ISN = M + F(localip,
// localport, remoteip, remoteport, secretkey), where M is a clock that ticks
// every 4 microseconds and F a keyed hash, so that an off-path attacker
// cannot guess the ISN of a connection and a new incarnation of a 4-tuple
// starts beyond the old one.
func initialSequenceNumber(key *[16]byte, id ID, now time.Time) Seq {
	var buf [16 + 2*(16+2)]byte
	n := copy(buf[:], key[:])
	for _, ap := range [2]struct {
		addr [16]byte
		port uint16
	}{{id.Local.Addr().As16(), id.Local.Port()}, {id.Remote.Addr().As16(), id.Remote.Port()}} {
		n += copy(buf[n:], ap.addr[:])
		binary.BigEndian.PutUint16(buf[n:], ap.port)
		n += 2
	}
	sum := sha256.Sum256(buf[:n])
	f := binary.BigEndian.Uint32(sum[:4])
	m := uint32(now.UnixNano() / 4000)
	return Seq(m + f)
}
