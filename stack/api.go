package stack

// This file fixes the stack's public API. Bodies live in the other files
// of the package.

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// Link is what the stack runs on: anything that reads and writes batches of
// raw IP packets. golang.zx2c4.com/wireguard/tun.Device satisfies it, and
// so does tundev's in-memory device. The stack always passes Headroom as
// the offset, so packet i lives at bufs[i][Headroom:Headroom+sizes[i]].
type Link interface {
	Read(bufs [][]byte, sizes []int, offset int) (n int, err error)
	Write(bufs [][]byte, offset int) (int, error)
	BatchSize() int
	MTU() (int, error)
	Close() error
}

// ChecksummedReader is a Link that can say, for each Read, whether it
// computed the TCP checksum of every packet it returned itself, over the
// bytes it returned: a TUN device that split a GSO super-packet of the
// local kernel's into segments does. The stack does not verify those
// checksums again; that could only repeat the device's sum. A link that
// cannot be sure, or whose packets may come from anywhere else, says
// false, and the stack verifies every checksum as usual.
type ChecksummedReader interface {
	ReadChecksummed(bufs [][]byte, sizes []int, offset int) (n int, checksummed bool, err error)
}

// Headroom is the offset at which the stack reads and writes packets in
// their buffers: room for the 10-byte virtio-net header that the TUN's
// offloads put in front of each packet.
const Headroom = 16

// EventKind says what an Event records.
type EventKind uint8

// Event kinds.
const (
	EventSegmentIn   EventKind = iota + 1 // a TCP segment arrived for a connection or a listener
	EventSegmentOut                       // the engine sent a segment
	EventStateChange                      // a connection changed state
	EventDrop                             // a segment or packet was dropped
)

// SegmentSummary is a segment without its payload, as events carry it.
type SegmentSummary struct {
	Flags   tcp.Flags
	Seq     tcp.Seq
	Ack     tcp.Seq
	Window  uint16 // SEG.WND as in the header, before window scaling
	Len     int    // payload bytes
	Options tcp.Options
}

// ISNs are a connection's initial sequence numbers as far as they were
// known when an event happened: Local is the stack's (ISS), Remote the
// peer's (IRS). A SYN's own sequence number is always known as its
// sender's ISN. With them, Event.RelSeq and RelAck give the sequence
// numbers relative to the start of each direction, as Wireshark shows.
type ISNs struct {
	Local, Remote           tcp.Seq
	LocalKnown, RemoteKnown bool
}

// Event is one thing that happened, for tracing, ladder diagrams and the
// demo. Events are built only while someone subscribes.
type Event struct {
	Time time.Time
	Kind EventKind
	Conn tcp.ID // zero for drops before demultiplexing
	// State is the connection's state when the event happened: for a
	// segment in, before the engine processes it (LISTEN for one a
	// listener takes, CLOSED when nothing takes it); for a drop, the state
	// that dropped it; for a state change, To.
	State tcp.State
	// Seg is the segment of a segment event or a drop, and the segment
	// that caused a state change (zero for a user call or a timer).
	Seg    SegmentSummary
	ISN    ISNs
	From   tcp.State // EventStateChange
	To     tcp.State // EventStateChange
	Reason tcp.Reason
	Detail string // drops before demultiplexing: what was wrong with the packet
	// Src and Dst are the addresses of a packet dropped before
	// demultiplexing (not-our-address, martian-*), when it had some.
	Src, Dst netip.Addr
}

// ConnInfo is a snapshot of one connection, for `tunstack ss` and tests.
type ConnInfo struct {
	Status tcp.Status
	States []tcp.State // every state the connection passed through, in order
	// Since is when the connection entered its current state; zero for a
	// listener. At is when the snapshot was taken, on the same clock:
	// At-Since is how long it has been in its state, and a timer's time
	// left is its deadline in Status minus At.
	Since, At time.Time
	// Unsent is what the application wrote that the engine has not taken
	// yet, Unread what the engine delivered that the application has not
	// read: add them to Status's queues for what a kernel's ss shows as
	// Send-Q and Recv-Q.
	Unsent, Unread int
	// AppClosed: the application called Close or CloseWrite. The FIN
	// follows once the engine has taken every byte written before it.
	AppClosed bool
}

// Options configure a Stack.
type Options struct {
	// Addrs are the stack's own addresses; packets to others are dropped.
	Addrs []netip.Addr
	// TCP is the engine's configuration; MSS is derived from the link MTU
	// when zero. A zero ISNKey is replaced by a random one; set it for
	// reproducible initial sequence numbers.
	TCP tcp.Config
	// Backlog bounds each listener's accept queue: connections
	// established and waiting for Accept. A SYN, or an ACK with a SYN
	// cookie, that finds it full is dropped and counted
	// (Counters.AcceptQueueOverflows). Default DefaultBacklog, 4096.
	Backlog int
	// SynBacklog bounds each listener's half-open queue: connections in
	// SYN-RECEIVED. A SYN that finds it full is answered with a SYN cookie
	// or dropped, as SynCookies says (Counters.SYNQueueOverflows).
	// Default DefaultSynBacklog, 1024.
	SynBacklog int
	// SynCookies says when a listener answers a SYN with a SYN cookie
	// (RFC 4987 §3.6) instead of a half-open connection: SynCookiesAuto
	// (the zero value) once the half-open queue is full, SynCookiesAlways,
	// or SynCookiesNever.
	SynCookies SynCookieMode
	// Logger receives the event loop's errors. Nil discards them.
	Logger *slog.Logger
	// ChallengeACKLimit is the stack-wide budget per second of ACKs that
	// answer unacceptable segments, once each connection's own limit
	// (tcp.Config.InvalidRateLimit) has let them through (RFC 5961 §7).
	// Each second's budget is drawn at random between half and one and a
	// half times it, as Linux does since CVE-2016-5696, so that an
	// off-path attacker cannot count it to learn whether its guesses hit
	// a connection. Default 1000; negative: no budget.
	ChallengeACKLimit int
	// RSTRateLimit bounds the RSTs sent for segments that no connection
	// takes (closed ports, ACKs to a listener) to this many per second,
	// in bursts of up to 50: a token bucket, as Linux's
	// icmp_msgs_per_sec and icmp_msgs_burst. Default 1000; negative: no
	// limit.
	RSTRateLimit int
	// ICMPRateLimit bounds ICMP and ICMPv6 echo replies and errors (UDP's
	// port unreachables, reassembly time-outs) the same way.
	// Default 1000; negative: no limit.
	ICMPRateLimit int
	// Capture, if set, sees every packet read from or written to the
	// link, with why the stack dropped or sent it (a pcapng file, for
	// one: stack/pcap). It runs on the loop and must not block.
	Capture Capturer
	// FragMemory bounds the bytes held in incomplete IP datagrams, whose
	// fragments wait for the rest (stack/ipfrag); the oldest datagram is
	// evicted when a fragment needs room. Zero means 4 MiB (Linux's
	// ipfrag_high_thresh); negative turns reassembly off and every
	// fragment is dropped.
	FragMemory int
	// FragTimeout is how long after its first fragment arrived an
	// incomplete datagram is given up. Zero means 30 s for IPv4 (Linux's
	// ipfrag_time) and 60 s for IPv6 (RFC 8200 §4.5).
	FragTimeout time.Duration
	// BufferBudget bounds, in bytes, the memory that all connections'
	// buffers hold together: the engine's send and receive buffers and
	// out-of-order data, and the queues between applications and the
	// loop. As it fills, receive windows shrink, auto-tuning stops and
	// writers wait (tcp.Budget says how). Zero means
	// DefaultBufferBudget (512 MiB); negative, no bound.
	BufferBudget int64
	// MaxConns, if positive, bounds the connections the stack holds
	// (every state but TIME-WAIT): a SYN beyond it is dropped and
	// counted. MaxConnsPerPeer does the same per peer (an IPv4 address,
	// an IPv6 /64). Zero: no limit.
	MaxConns, MaxConnsPerPeer int
	// UDPForward, if set, is offered on the loop the first UDP datagram
	// of each flow to an address that is not the stack's, and may accept
	// the flow as a socket of its own (a gateway; udp_forward.go). Nil:
	// such datagrams are dropped as "not-our-address".
	UDPForward func(*UDPForwardRequest)
}
