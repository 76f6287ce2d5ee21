package tcp

// Seq is a TCP sequence number. Arithmetic on it wraps modulo 2^32 and its
// comparisons are wrap-safe (RFC 9293 §3.4: "it is essential to remember
// that the actual sequence number space is finite ... all arithmetic dealing
// with sequence numbers must be performed modulo 2**32").
type Seq uint32

// Add returns s advanced by n octets.
func (s Seq) Add(n uint32) Seq { return s + Seq(n) }

// Size returns the number of octets from s up to o (o - s), assuming s <= o.
func (s Seq) Size(o Seq) uint32 { return uint32(o - s) }

// LessThan reports whether s comes before o.
func (s Seq) LessThan(o Seq) bool { return int32(s-o) < 0 }

// LessThanEq reports whether s comes before o or is equal to it.
func (s Seq) LessThanEq(o Seq) bool { return s == o || s.LessThan(o) }

// GreaterThan reports whether s comes after o.
func (s Seq) GreaterThan(o Seq) bool { return o.LessThan(s) }

// GreaterThanEq reports whether s comes after o or is equal to it.
func (s Seq) GreaterThanEq(o Seq) bool { return o.LessThanEq(s) }

// InRange reports whether first <= s < end.
func (s Seq) InRange(first, end Seq) bool {
	return first.LessThanEq(s) && s.LessThan(end)
}

// InWindow reports whether first <= s < first+size.
func (s Seq) InWindow(first Seq, size uint32) bool {
	return uint32(s-first) < size
}

// Max returns the later of s and o.
func (s Seq) Max(o Seq) Seq {
	if s.LessThan(o) {
		return o
	}
	return s
}

// Min returns the earlier of s and o.
func (s Seq) Min(o Seq) Seq {
	if s.LessThan(o) {
		return s
	}
	return o
}
