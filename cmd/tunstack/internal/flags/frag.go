package flags

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack/ipfrag"
)

// fragFlags bound IP reassembly (stack/ipfrag) in the native engine.
type fragFlags struct {
	memory  string
	timeout time.Duration
}

// Bounds of the fragment flags: a memory bound must hold at least two of
// the largest datagrams; a time-out beyond a few minutes only holds memory
// for datagrams whose peers gave up long ago.
const (
	minFragMemory  = 128 << 10
	maxFragTimeout = 5 * time.Minute
)

func (f *fragFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.memory, "frag-memory", "4MiB", "bytes held in incomplete IP datagrams, oldest evicted first (Linux's ipfrag_high_thresh); 0 turns reassembly off")
	fs.DurationVar(&f.timeout, "frag-timeout", 0, "give up an incomplete IP datagram this long after its first fragment (default 30s for IPv4 as Linux, 60s for IPv6 as RFC 8200)")
}

// config returns stack.Options' FragMemory (negative: reassembly off) and
// FragTimeout.
func (f *fragFlags) config() (memory int, timeout time.Duration, err error) {
	n, ok := parseByteCount(f.memory)
	switch {
	case !ok:
		return 0, 0, usage.Errorf("--frag-memory %q: want a size like 4MiB, 512KiB or 1048576", f.memory)
	case n == 0:
		memory = -1
	case n < minFragMemory:
		return 0, 0, usage.Errorf("--frag-memory %s: want 0 (reassembly off) or at least %dKiB", f.memory, minFragMemory>>10)
	default:
		memory = int(n)
	}
	if f.timeout < 0 || f.timeout > maxFragTimeout {
		return 0, 0, usage.Errorf("--frag-timeout %v: want 0 (the defaults) up to %v", f.timeout, maxFragTimeout)
	}
	return memory, f.timeout, nil
}

// defaultFragMemory is what --frag-memory's default gives.
const defaultFragMemory = ipfrag.DefaultMemoryLimit
