package wire

import "errors"

// Error is why a packet was rejected or could not be built. Its text is one
// phrase for people; Code is a stable short label for drop counters.
type Error struct {
	code string
	text string
}

func (e *Error) Error() string { return e.text }

// Code is the error's counter label, for example "tcp-bad-checksum".
func (e *Error) Code() string { return e.code }

// The errors, grouped by layer: IP, TCP, UDP, ICMP, then those of the builders.
var (
	ErrTruncated       = &Error{"ip-truncated", "packet ends inside its IP header"}
	ErrBadVersion      = &Error{"ip-bad-version", "IP version is neither 4 nor 6"}
	ErrBadHeaderLength = &Error{"ip-bad-header-length", "IPv4 header length below 20 bytes"}
	ErrBadIPChecksum   = &Error{"ip-bad-checksum", "IPv4 header checksum mismatch"}
	ErrBadLength       = &Error{"ip-bad-length", "IP length field disagrees with the packet size"}
	ErrFragment        = &Error{"ip-fragment", "IP fragment: ParseFragment reads it, reassembly makes a packet of it"}
	ErrNotFragment     = &Error{"ip-not-fragment", "packet is not an IP fragment"}
	ErrRoutingHeader   = &Error{"ip-routing-header", "IPv6 routing header with segments left"}
	ErrWrongProtocol   = &Error{"ip-wrong-protocol", "packet carries a different protocol"}

	ErrTCPTruncated   = &Error{"tcp-truncated", "TCP segment shorter than its header"}
	ErrBadTCPChecksum = &Error{"tcp-bad-checksum", "TCP checksum mismatch"}
	ErrBadDataOffset  = &Error{"tcp-bad-data-offset", "TCP data offset below 5 or past the segment"}
	ErrBadOptions     = &Error{"tcp-bad-options", "malformed TCP option length"}

	ErrUDPTruncated    = &Error{"udp-truncated", "UDP datagram shorter than its header"}
	ErrBadUDPLength    = &Error{"udp-bad-length", "UDP length field below 8 or past the packet"}
	ErrBadUDPChecksum  = &Error{"udp-bad-checksum", "UDP checksum mismatch"}
	ErrUDPZeroChecksum = &Error{"udp-zero-checksum", "IPv6 UDP datagram without a checksum (RFC 8200 §8.1)"}

	ErrICMPTruncated   = &Error{"icmp-truncated", "ICMP message shorter than its header"}
	ErrBadICMPChecksum = &Error{"icmp-bad-checksum", "ICMP checksum mismatch"}
	ErrBadICMPOriginal = &Error{"icmp-bad-original", "ICMP error quotes no usable IP header"}
	ErrNotEchoRequest  = &Error{"icmp-not-echo-request", "ICMP message is not an echo request"}

	ErrBadAddress     = &Error{"bad-address", "addresses are invalid, of mixed families or not unicast"}
	ErrBufferTooSmall = &Error{"buffer-too-small", "buffer too small for the packet"}
	ErrPacketTooLong  = &Error{"packet-too-long", "packet longer than an IP length field can say"}
)

// DropReason returns err's counter label: the Code of the *Error it is or
// wraps, "" for nil and "other" for any other error.
func DropReason(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := err.(*Error); ok { // the unwrapped sentinel: no allocation
		return e.code
	}
	var e *Error
	if errors.As(err, &e) {
		return e.code
	}
	return "other"
}
