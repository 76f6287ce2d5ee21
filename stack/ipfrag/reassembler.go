package ipfrag

import (
	"net/netip"
	"time"

	"github.com/tunstack/tunstack/stack/wire"
)

// Defaults of Config.
const (
	// DefaultMemoryLimit is Linux's net.ipv4.ipfrag_high_thresh.
	DefaultMemoryLimit = 4 << 20
	// DefaultTimeout4 is Linux's net.ipv4.ipfrag_time; RFC 791 suggests
	// 15 s as a lower bound.
	DefaultTimeout4 = 30 * time.Second
	// DefaultTimeout6 is RFC 8200 §4.5's 60 seconds.
	DefaultTimeout6 = 60 * time.Second
	// DefaultMaxFragments lets the largest datagram through in fragments
	// of 552 bytes (IPv4's 576-byte minimum datagram less its header).
	DefaultMaxFragments = 128
)

// Memory charged besides the bytes of data, roughly what the structures
// take, so that many tiny fragments cost what they take and not less.
const (
	datagramCost = 256 // a datagram (or the record of a discarded one) and its map entry
	pieceCost    = 64  // a fragment's place in its datagram's list
)

// maxDatagram is the longest datagram a length field can say: IPv6's
// Payload Length plus its fixed header.
const maxDatagram = wire.IPv6HeaderLen + 0xffff

// Config bounds a Reassembler. Zero fields take the defaults.
type Config struct {
	// MemoryLimit bounds the bytes charged to incomplete datagrams: their
	// fragments' data, the first fragment's headers and a fixed cost per
	// datagram and per fragment.
	MemoryLimit int
	// Timeout4 and Timeout6 are how long after its first fragment arrived
	// an IPv4 or IPv6 datagram is given up.
	Timeout4, Timeout6 time.Duration
	// MaxFragments bounds the fragments of one datagram.
	MaxFragments int
}

func (c Config) withDefaults() Config {
	if c.MemoryLimit <= 0 {
		c.MemoryLimit = DefaultMemoryLimit
	}
	if c.Timeout4 <= 0 {
		c.Timeout4 = DefaultTimeout4
	}
	if c.Timeout6 <= 0 {
		c.Timeout6 = DefaultTimeout6
	}
	if c.MaxFragments <= 0 {
		c.MaxFragments = DefaultMaxFragments
	}
	return c
}

// Result is what Add did with a fragment.
type Result struct {
	Reason Reason
	// Datagram is the whole datagram when Reason is Reassembled or Atomic.
	// It lives in the Reassembler's buffer: valid until the next call.
	Datagram []byte
	// Evicted is how many incomplete datagrams were given up, oldest
	// first, to make room for the fragment.
	Evicted int
}

// Expired is a datagram given up by Expire.
type Expired struct {
	Version  uint8
	Src, Dst netip.Addr
	// First is the first fragment as it arrived: its headers and the start
	// of its data, what an ICMP time exceeded quotes. Nil if the first
	// fragment never arrived, in which case no ICMP message is due (RFC
	// 792, RFC 8200 §4.5). Valid during the callback only.
	First []byte
}

// Reassembler keeps the fragments of incomplete datagrams. It is not safe
// for concurrent use: the stack's loop owns it.
type Reassembler struct {
	cfg       Config
	datagrams map[key]*datagram
	// ages holds each family's datagrams oldest first, by when their first
	// fragment arrived: with one time-out per family, the order in which
	// they expire.
	ages     [2]ageList
	memory   int // bytes charged
	live     int // datagrams not discarded
	buf      []byte
	scratchF wire.Fragment
}

// New returns a Reassembler bounded by cfg.
func New(cfg Config) *Reassembler {
	return &Reassembler{cfg: cfg.withDefaults(), datagrams: make(map[key]*datagram)}
}

// Memory is the bytes charged to incomplete datagrams now.
func (r *Reassembler) Memory() int { return r.memory }

// Pending is the number of incomplete datagrams held now, not counting the
// records of discarded ones.
func (r *Reassembler) Pending() int { return r.live }

// Add takes one fragment that arrived at now.
func (r *Reassembler) Add(now time.Time, f *wire.Fragment) Result {
	if f.Version == 6 && f.Offset == 0 && !f.More {
		// RFC 6946 §4: processed in isolation from any other fragment.
		n, err := wire.Reassembled(r.buffer(), f, f.Data)
		if err != nil {
			return Result{Reason: TooBig}
		}
		return Result{Reason: Atomic, Datagram: r.buf[:n]}
	}
	if why := refuse(f); why != Held {
		return Result{Reason: why}
	}
	k := keyOf(f)
	d := r.datagrams[k]
	if d != nil && d.dead {
		return Result{Reason: AfterDiscard}
	}
	end := f.Offset + len(f.Data)
	if tooLong(f, end) {
		return r.discard(now, k, d, TooBig)
	}
	if d == nil {
		return r.first(now, k, f, end)
	}
	why := d.check(f, end, r.cfg.MaxFragments)
	if why.DiscardsDatagram() {
		return r.discard(now, k, d, why)
	}
	if why != Held {
		return Result{Reason: why}
	}
	if d.completedBy(f, end) {
		// Built at once from the fragment in place: no room needed, so
		// nothing is evicted for a datagram about to leave.
		return r.reassemble(now, k, d, f)
	}
	cost := fragmentCost(f)
	var res Result
	if !r.reserve(cost, d, &res) {
		res.Reason = NoMemory
		return res
	}
	r.memory += cost
	d.cost += cost
	d.insert(f, end)
	res.Reason = Held
	return res
}

// first starts a datagram with fragment f.
func (r *Reassembler) first(now time.Time, k key, f *wire.Fragment, end int) Result {
	cost := datagramCost + fragmentCost(f)
	var res Result
	if !r.reserve(cost, nil, &res) {
		res.Reason = NoMemory
		return res
	}
	d := r.track(now, k, cost)
	d.insert(f, end)
	res.Reason = Held
	return res
}

// track starts keeping a datagram that costs cost so far.
func (r *Reassembler) track(now time.Time, k key, cost int) *datagram {
	d := &datagram{key: k, created: now, deadline: now.Add(r.timeout(k)), end: -1, cost: cost}
	r.datagrams[k] = d
	r.ages[k.family()].pushBack(d)
	r.memory += cost
	r.live++
	return d
}

// discard gives up datagram k (d, or one not seen yet when d is nil) for
// reason why: its fragments are freed, and a record of it stays until its
// time-out so that its later fragments are dropped as well (RFC 5722 §4:
// "and any constituent fragments, including those not yet received").
func (r *Reassembler) discard(now time.Time, k key, d *datagram, why Reason) Result {
	res := Result{Reason: why}
	if d == nil {
		if !r.reserve(datagramCost, nil, &res) {
			return res // no record: the datagram's later fragments start afresh
		}
		d = r.track(now, k, datagramCost)
	}
	r.memory -= d.cost - datagramCost
	d.cost = datagramCost
	d.dead, d.pieces, d.head = true, nil, nil
	r.live--
	return res
}

// reserve makes room for cost more bytes by evicting the oldest datagrams
// but keep; it counts evictions in res and reports whether there is room.
func (r *Reassembler) reserve(cost int, keep *datagram, res *Result) bool {
	for r.memory+cost > r.cfg.MemoryLimit {
		oldest := r.oldest(keep)
		if oldest == nil {
			return false
		}
		if !oldest.dead {
			res.Evicted++
		}
		r.remove(oldest)
	}
	return true
}

// oldest is the datagram that arrived first of both families, but keep.
func (r *Reassembler) oldest(keep *datagram) *datagram {
	var best *datagram
	for i := range r.ages {
		d := r.ages[i].head
		if d != nil && d == keep {
			d = d.newer
		}
		if d != nil && (best == nil || d.created.Before(best.created)) {
			best = d
		}
	}
	return best
}

// remove forgets d.
func (r *Reassembler) remove(d *datagram) {
	r.ages[d.key.family()].unlink(d)
	delete(r.datagrams, d.key)
	r.memory -= d.cost
	if !d.dead {
		r.live--
	}
}

// reassemble builds d's datagram, which fragment f completes, in the
// buffer and forgets d.
func (r *Reassembler) reassemble(now time.Time, k key, d *datagram, f *wire.Fragment) Result {
	first := f
	if f.Offset != 0 {
		first = d.firstFragment(&r.scratchF)
	}
	end := d.end
	if !f.More {
		end = f.Offset + len(f.Data)
	}
	if tooLong(first, end) {
		// The first fragment's headers are longer than the others'.
		return r.discard(now, k, d, TooBig)
	}
	buf := r.buffer()
	h := len(first.Header)
	for _, p := range d.pieces {
		copy(buf[h+p.off:], p.data)
	}
	copy(buf[h+f.Offset:], f.Data)
	n, _ := wire.Reassembled(buf, first, buf[h:h+end]) // tooLong said it fits
	r.remove(d)
	return Result{Reason: Reassembled, Datagram: buf[:n]}
}

// Next is when Expire must run next; zero if no datagram is held.
func (r *Reassembler) Next() time.Time {
	var next time.Time
	for i := range r.ages {
		if d := r.ages[i].head; d != nil && (next.IsZero() || d.deadline.Before(next)) {
			next = d.deadline
		}
	}
	return next
}

// Expire gives up every datagram whose time is up at now and calls
// expired for each that was still incomplete (not for the records of
// discarded ones).
func (r *Reassembler) Expire(now time.Time, expired func(Expired)) {
	for i := range r.ages {
		for d := r.ages[i].head; d != nil && !d.deadline.After(now); d = r.ages[i].head {
			dead := d.dead
			first := d.quote(r.buffer())
			r.remove(d)
			if !dead && expired != nil {
				k := d.key
				expired(Expired{Version: k.version(), Src: k.srcAddr(), Dst: k.dstAddr(), First: first})
			}
		}
	}
}

func (r *Reassembler) timeout(k key) time.Duration {
	if k.family() == 0 {
		return r.cfg.Timeout4
	}
	return r.cfg.Timeout6
}

// buffer is where datagrams are rebuilt, allocated on first use.
func (r *Reassembler) buffer() []byte {
	if r.buf == nil {
		r.buf = make([]byte, maxDatagram)
	}
	return r.buf
}

// refuse applies the rules that judge a fragment alone: Held if it passes.
func refuse(f *wire.Fragment) Reason {
	switch {
	case len(f.Data) == 0, f.More && len(f.Data)%8 != 0:
		// RFC 791 §3.2 and RFC 8200 §4.5: every fragment but the last
		// carries a multiple of 8 bytes.
		return BadLength
	case f.Version == 4 && f.Protocol == wire.ProtoTCP && f.Offset == 8:
		// RFC 1858 §3.2.2, RFC 3128 §4: "if FO=1 and PROTOCOL=TCP then
		// drop packet": only an attack rewrites the TCP header's flags.
		return Tiny
	case f.Version == 4 && f.Protocol == wire.ProtoTCP && f.Offset == 0 && len(f.Data) < 16:
		// RFC 1858 §3.2.1: a first fragment too short to hold the TCP
		// flags (byte 13; 16 is the next multiple of 8).
		return Tiny
	case f.Offset == 0 && !f.HeaderChainComplete():
		return IncompleteChain // RFC 7112 §5
	}
	return Held
}

// tooLong reports whether a datagram of length end (its fragmentable
// part) with f's headers in front would be longer than its length field
// can say (RFC 791 §3.1; RFC 8200 §4.5 judges each fragment by its own
// headers, and Linux does the same for IPv4).
func tooLong(f *wire.Fragment, end int) bool {
	if f.Version == 4 {
		return len(f.Header)+end > 0xffff
	}
	return len(f.Header)-wire.IPv6HeaderLen+end > 0xffff
}

// fragmentCost is the memory a fragment is charged: its data, its place in
// the list and, for the first, the headers kept.
func fragmentCost(f *wire.Fragment) int {
	cost := pieceCost + len(f.Data)
	if f.Offset == 0 {
		cost += len(f.Raw) - len(f.Data)
	}
	return cost
}
