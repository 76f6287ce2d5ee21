package ipfrag

import "strconv"

// Reason says what became of a fragment, or why a datagram was given up.
type Reason uint8

// Reasons. Held, Reassembled and Atomic keep the fragment; every other
// reason drops it, and those from Overlap on discard its whole datagram.
const (
	Held        Reason = iota // kept until the rest of its datagram arrives
	Reassembled               // it completed its datagram
	Atomic                    // an IPv6 atomic fragment: a whole packet (RFC 6946)

	// Dropped, the datagram kept.
	Duplicate       // exact duplicate of a fragment held (RFC 5722 erratum 3089)
	Tiny            // IPv4 TCP at offset 8, or a first fragment under 16 bytes (RFC 1858 §3.2, RFC 3128)
	IncompleteChain // IPv6 first fragment without the whole header chain (RFC 7112 §5)
	BadLength       // empty, or not the last and not a multiple of 8 bytes (RFC 791, RFC 8200 §4.5)
	NoMemory        // no room even after evicting every other datagram
	AfterDiscard    // its datagram was discarded already (RFC 5722 §4)
	Nested          // a fragment inside a reassembled packet; the caller drops it

	// Dropped with the datagram.
	Overlap          // overlaps a fragment held (RFC 5722 §4)
	TooBig           // the datagram would pass 65,535 bytes (RFC 791 §3.1, RFC 8200 §4.5)
	Inconsistent     // its end disagrees with the datagram's last fragment (RFC 791 §3.2)
	TooManyFragments // the datagram has as many fragments as Config.MaxFragments
	Timeout          // the datagram's time ran out (RFC 791 §3.2, RFC 8200 §4.5)
	Evicted          // the datagram was the oldest when room was needed

	numReasons
)

var reasonCodes = [numReasons]string{
	Held:             "frag-held",
	Reassembled:      "frag-reassembled",
	Atomic:           "frag-atomic",
	Duplicate:        "frag-duplicate",
	Tiny:             "frag-tiny",
	IncompleteChain:  "frag-incomplete-chain",
	BadLength:        "frag-bad-length",
	NoMemory:         "frag-no-memory",
	AfterDiscard:     "frag-after-discard",
	Nested:           "frag-nested",
	Overlap:          "frag-overlap",
	TooBig:           "frag-too-big",
	Inconsistent:     "frag-inconsistent",
	TooManyFragments: "frag-too-many",
	Timeout:          "frag-timeout",
	Evicted:          "frag-evicted",
}

// Code is the reason's stable label for counters, like "frag-overlap".
func (r Reason) Code() string {
	if r < numReasons {
		return reasonCodes[r]
	}
	return "frag-reason-" + strconv.Itoa(int(r))
}

func (r Reason) String() string { return r.Code() }

// Dropped reports whether the fragment was dropped.
func (r Reason) Dropped() bool { return r >= Duplicate }

// DiscardsDatagram reports whether the reason gives up a whole datagram.
func (r Reason) DiscardsDatagram() bool { return r >= Overlap }

// DropReasons are the reasons that drop a fragment as it arrives, in order.
func DropReasons() []Reason {
	var rs []Reason
	for r := Duplicate; r < Timeout; r++ {
		rs = append(rs, r)
	}
	return rs
}

// DiscardReasons are the reasons a datagram is given up, in order.
func DiscardReasons() []Reason {
	var rs []Reason
	for r := Overlap; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}
