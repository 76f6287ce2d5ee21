package stack

// TCPMIB holds the scalar counters of the TCP-MIB (RFC 4022 §3), defined
// as the RFC defines them. The stack keeps them from the engine's state
// changes and from every segment it receives and sends.
type TCPMIB struct {
	// ActiveOpens: direct transitions from CLOSED to SYN-SENT.
	ActiveOpens uint64
	// PassiveOpens: direct transitions from LISTEN to SYN-RECEIVED.
	PassiveOpens uint64
	// AttemptFails: direct transitions to CLOSED from SYN-SENT or
	// SYN-RECEIVED, plus those from SYN-RECEIVED back to LISTEN.
	AttemptFails uint64
	// EstabResets: direct transitions to CLOSED from ESTABLISHED or
	// CLOSE-WAIT.
	EstabResets uint64
	// CurrEstab is a gauge: the connections now in ESTABLISHED or
	// CLOSE-WAIT. Zero when the loop does not run.
	CurrEstab uint64
	// InSegs: segments received, those received in error included
	// (every TCP packet to one of the stack's addresses whose IP header
	// was sound).
	InSegs uint64
	// OutSegs: segments sent, excluding those containing only
	// retransmitted octets. A zero-window probe counts here: the first
	// probe of an octet carries new data, and the stack does not tell
	// it from the probes that repeat it.
	OutSegs uint64
	// RetransSegs: segments sent that contain previously sent octets
	// (SYN, SYN-ACK, data and FIN retransmissions, fast retransmits, tail
	// loss probes that resend the last segment; a probe that carries new
	// data, tcp.ReasonTailLossProbeNewData, is not a retransmission).
	RetransSegs uint64
	// InErrs: segments received in error: bad checksum, truncated
	// header, bad data offset, malformed options.
	InErrs uint64
	// OutRsts: segments sent with the RST flag.
	OutRsts uint64
}
