package wire

import (
	"encoding/binary"

	"github.com/tunstack/tunstack/stack/tcp"
)

// TCP option kinds and lengths (RFC 9293 §3.2, RFC 7323, RFC 2018).
const (
	optEnd           = 0
	optNOP           = 1
	optMSS           = 2
	optWindowScale   = 3
	optSACKPermitted = 4
	optTimestamps    = 8
	optSACK          = 5

	optMSSLen           = 4
	optWindowScaleLen   = 3
	optSACKPermittedLen = 2
	optTimestampsLen    = 10
)

// parseOptions reads the options the engine understands into opts and
// skips the others by their length. A length that is below 2, runs past the
// header or differs from the fixed length of a known kind is ErrBadOptions
// (RFC 9293 §3.1 asks that an illegal length be survived, not trusted).
func parseOptions(b []byte, opts *tcp.Options) error {
	*opts = tcp.Options{}
	for len(b) > 0 {
		kind := b[0]
		switch kind {
		case optEnd:
			return nil
		case optNOP:
			b = b[1:]
			continue
		}
		if len(b) < 2 {
			return ErrBadOptions
		}
		length := int(b[1])
		if length < 2 || length > len(b) {
			return ErrBadOptions
		}
		body := b[2:length]
		switch kind {
		case optMSS:
			if length != optMSSLen {
				return ErrBadOptions
			}
			opts.MSS = binary.BigEndian.Uint16(body)
		case optWindowScale:
			if length != optWindowScaleLen {
				return ErrBadOptions
			}
			// A shift above 14 is the engine's to clamp (RFC 7323 §2.3).
			opts.WindowScale, opts.HasWindowScale = body[0], true
		case optSACKPermitted:
			if length != optSACKPermittedLen {
				return ErrBadOptions
			}
			opts.SACKPermitted = true
		case optTimestamps:
			if length != optTimestampsLen {
				return ErrBadOptions
			}
			opts.TSVal = binary.BigEndian.Uint32(body[0:4])
			opts.TSEcr = binary.BigEndian.Uint32(body[4:8])
			opts.HasTimestamps = true
		case optSACK:
			if (length-2)%8 != 0 || length < 10 {
				return ErrBadOptions
			}
			for i := 0; i+8 <= len(body) && int(opts.NumSACK) < tcp.MaxSACKBlocks; i += 8 {
				opts.SACK[opts.NumSACK] = tcp.SACKBlock{
					Left:  tcp.Seq(binary.BigEndian.Uint32(body[i:])),
					Right: tcp.Seq(binary.BigEndian.Uint32(body[i+4:])),
				}
				opts.NumSACK++
			}
		}
		b = b[length:]
	}
	return nil
}

// optionsLen is how many bytes writeOptions writes for opts: always a
// multiple of 4, at most 40.
func optionsLen(opts *tcp.Options) int {
	n := 0
	if opts.MSS != 0 {
		n += 4
	}
	if opts.HasTimestamps {
		n += 12
	} else if opts.SACKPermitted {
		n += 4
	}
	if opts.HasWindowScale {
		n += 4
	}
	if k := sackBlocks(opts); k > 0 {
		n += 4 + 8*k // two NOPs, kind, length, blocks
	}
	return n
}

// sackBlocks is how many SACK blocks are written: as many as fit in the
// 40 bytes of option space next to the other options.
func sackBlocks(opts *tcp.Options) int {
	k := int(opts.NumSACK)
	if opts.HasTimestamps {
		k = min(k, 3)
	}
	return min(k, tcp.MaxSACKBlocks-1+boolInt(!opts.HasTimestamps && opts.MSS == 0 && !opts.HasWindowScale))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// writeOptions writes opts into b in the layout Linux uses, which keeps
// every multi-byte value 4-byte aligned and needs no trailing padding:
// MSS; SACK-permitted and timestamps together, or each after two NOPs;
// NOP and window scale.
func writeOptions(b []byte, opts *tcp.Options) {
	if opts.MSS != 0 {
		b[0], b[1] = optMSS, optMSSLen
		binary.BigEndian.PutUint16(b[2:4], opts.MSS)
		b = b[4:]
	}
	switch {
	case opts.HasTimestamps:
		b[0], b[1] = optNOP, optNOP
		if opts.SACKPermitted {
			b[0], b[1] = optSACKPermitted, optSACKPermittedLen
		}
		b[2], b[3] = optTimestamps, optTimestampsLen
		binary.BigEndian.PutUint32(b[4:8], opts.TSVal)
		binary.BigEndian.PutUint32(b[8:12], opts.TSEcr)
		b = b[12:]
	case opts.SACKPermitted:
		b[0], b[1], b[2], b[3] = optNOP, optNOP, optSACKPermitted, optSACKPermittedLen
		b = b[4:]
	}
	if opts.HasWindowScale {
		b[0], b[1], b[2], b[3] = optNOP, optWindowScale, optWindowScaleLen, opts.WindowScale
		b = b[4:]
	}
	if k := sackBlocks(opts); k > 0 {
		b[0], b[1], b[2], b[3] = optNOP, optNOP, optSACK, byte(2+8*k)
		b = b[4:]
		for i := 0; i < k; i++ {
			binary.BigEndian.PutUint32(b[0:4], uint32(opts.SACK[i].Left))
			binary.BigEndian.PutUint32(b[4:8], uint32(opts.SACK[i].Right))
			b = b[8:]
		}
	}
}
