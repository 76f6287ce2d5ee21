package flags

import (
	"github.com/spf13/pflag"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

// memFlags are the bounds of `tunstack up` on what peers can make the
// stack hold: the buffer budget and the connection limits.
type memFlags struct {
	bufferBudget    string
	maxConns        int
	maxConnsPerPeer int
}

// minBufferBudget is the smallest budget --buffer-budget takes: below it
// every connection would live on its floor.
const minBufferBudget = 1 << 20

func (f *memFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.bufferBudget, "buffer-budget", "512MiB", "memory all connections' buffers share, like 512MiB or 2GiB (0: no bound); receive windows shrink and writers wait as it fills (native engine)")
	fs.IntVar(&f.maxConns, "max-conns", 0, "most connections the stack holds (TIME-WAIT aside); a SYN beyond is dropped and counted (0: no limit; native engine)")
	fs.IntVar(&f.maxConnsPerPeer, "max-conns-per-peer", 0, "most connections of one peer (an IPv4 address, an IPv6 /64); a SYN beyond is dropped and counted (0: no limit; native engine)")
}

func (f *memFlags) config() (daemon.MemoryConfig, error) {
	budget, ok := parseByteCount(f.bufferBudget)
	switch {
	case !ok:
		return daemon.MemoryConfig{}, usage.Errorf("--buffer-budget %q: want a size like 512MiB, 2GiB or 65536", f.bufferBudget)
	case budget == 0:
		budget = -1 // no bound
	case budget < minBufferBudget:
		return daemon.MemoryConfig{}, usage.Errorf("--buffer-budget %q: want at least 1MiB, or 0 for no bound", f.bufferBudget)
	}
	if f.maxConns < 0 || f.maxConnsPerPeer < 0 {
		return daemon.MemoryConfig{}, usage.Errorf("--max-conns and --max-conns-per-peer must not be negative")
	}
	return daemon.MemoryConfig{BufferBudget: budget, MaxConns: f.maxConns, MaxConnsPerPeer: f.maxConnsPerPeer}, nil
}
