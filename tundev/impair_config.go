package tundev

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Impairment defaults.
const (
	// DefaultReorderHold is how long a packet picked for reordering is held
	// back when Impairment.ReorderHold is zero: long enough for the next
	// packets of a busy flow to overtake it, short enough that it is not
	// taken for lost.
	DefaultReorderHold = 5 * time.Millisecond

	// DefaultImpairLimit is how many packets one direction holds at most
	// when ImpairConfig.Limit is zero: 8192 full-size packets are 12 MiB,
	// 20 ms of delay at 4.9 Gbit/s.
	DefaultImpairLimit = 8192

	// MaxImpairDelay bounds Delay, Jitter and ReorderHold: an impairment
	// is for testing a transport, not for parking traffic.
	MaxImpairDelay = 10 * time.Second
)

// Impairment is what happens to the packets of one direction. The draws
// are made per packet in this order: lost, else duplicated, then held back
// for reordering; the delay applies to every copy.
type Impairment struct {
	// Loss, Duplicate and Reorder are percentages of packets, 0 to 100.
	// A duplicate is a second copy released right after the packet.
	Loss, Duplicate, Reorder float64
	// ReorderHold is how long a packet picked by Reorder is held back on
	// top of its delay, so that the packets that follow within that time
	// overtake it; DefaultReorderHold when zero.
	ReorderHold time.Duration
	// Delay is added to every packet. Each packet's delay varies by up to
	// Jitter either way, drawn uniformly, but jitter never lets a packet
	// overtake an earlier one: only Reorder reorders, so the counters say
	// exactly how many packets were reordered.
	Delay, Jitter time.Duration
}

// active reports whether the impairment does anything.
func (im Impairment) active() bool {
	return im.Loss > 0 || im.Duplicate > 0 || im.Reorder > 0 || im.Delay > 0 || im.Jitter > 0
}

// hold is the reordering hold in effect.
func (im Impairment) hold() time.Duration {
	if im.ReorderHold == 0 {
		return DefaultReorderHold
	}
	return im.ReorderHold
}

// String writes the impairment in the syntax of `tunstack up --impair`,
// leaving out what is zero; "none" when it does nothing.
func (im Impairment) String() string {
	var parts []string
	percent := func(key string, p float64) {
		if p > 0 {
			parts = append(parts, key+"="+strconv.FormatFloat(p, 'f', -1, 64)+"%")
		}
	}
	duration := func(key string, d time.Duration) {
		if d > 0 {
			parts = append(parts, key+"="+d.String())
		}
	}
	percent("loss", im.Loss)
	percent("dup", im.Duplicate)
	percent("reorder", im.Reorder)
	if im.Reorder > 0 {
		duration("hold", im.hold())
	}
	duration("delay", im.Delay)
	duration("jitter", im.Jitter)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// validate checks the impairment of the direction called name.
func (im Impairment) validate(name string) error {
	for _, p := range []struct {
		what  string
		value float64
	}{{"loss", im.Loss}, {"duplicate", im.Duplicate}, {"reorder", im.Reorder}} {
		if math.IsNaN(p.value) || p.value < 0 || p.value > 100 {
			return fmt.Errorf("%s %s %v%% outside 0..100%%: %w", name, p.what, p.value, ErrInvalidConfig)
		}
	}
	for _, d := range []struct {
		what  string
		value time.Duration
	}{{"delay", im.Delay}, {"jitter", im.Jitter}, {"reorder hold", im.ReorderHold}} {
		if d.value < 0 || d.value > MaxImpairDelay {
			return fmt.Errorf("%s %s %v outside 0..%v: %w", name, d.what, d.value, MaxImpairDelay, ErrInvalidConfig)
		}
	}
	if im.Jitter > im.Delay {
		return fmt.Errorf("%s jitter %v is more than the delay %v: %w", name, im.Jitter, im.Delay, ErrInvalidConfig)
	}
	return nil
}

// ImpairConfig says how Impair degrades a link.
type ImpairConfig struct {
	// Receive applies to the packets Read returns (kernel to stack),
	// Transmit to those Write is given (stack to kernel).
	Receive, Transmit Impairment
	// Seed makes the draws reproducible: each direction draws from its
	// own generator seeded with it, so a run with the same traffic makes
	// the same decisions. Zero picks a random seed (Impaired.Seed tells
	// which).
	Seed uint64
	// Limit is how many packets each direction holds at most; a packet
	// beyond it is dropped and counted as Overflow. DefaultImpairLimit
	// when zero.
	Limit int
}

// Active reports whether the configuration impairs either direction.
func (c ImpairConfig) Active() bool { return c.Receive.active() || c.Transmit.active() }

// Validate checks that every value is in range: percentages within 0..100,
// durations within 0..MaxImpairDelay, jitter at most the delay, and a
// limit that is not negative. Errors match ErrInvalidConfig.
func (c ImpairConfig) Validate() error {
	if err := c.Receive.validate("receive"); err != nil {
		return err
	}
	if err := c.Transmit.validate("transmit"); err != nil {
		return err
	}
	if c.Limit < 0 {
		return fmt.Errorf("impairment limit %d is negative: %w", c.Limit, ErrInvalidConfig)
	}
	return nil
}

func (c ImpairConfig) limit() int {
	if c.Limit == 0 {
		return DefaultImpairLimit
	}
	return c.Limit
}
