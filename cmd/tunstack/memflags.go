package main

import (
	"github.com/spf13/pflag"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack"
)

// memFlags are the bounds of `tunstack up` on what peers can make the
// stack hold: the buffer budget and the connection limits.
type memFlags struct {
	bufferBudget    string
	maxConns        int
	maxConnsPerPeer int
}

// memConfig is what memFlags validate to.
type memConfig struct {
	// BufferBudget is stack.Options.BufferBudget: bytes, or -1 for no
	// bound.
	BufferBudget    int64
	MaxConns        int
	MaxConnsPerPeer int
}

// minBufferBudget is the smallest budget --buffer-budget takes: below it
// every connection would live on its floor.
const minBufferBudget = 1 << 20

func (f *memFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.bufferBudget, "buffer-budget", "512MiB", "memory all connections' buffers share, like 512MiB or 2GiB (0: no bound); receive windows shrink and writers wait as it fills (native engine)")
	fs.IntVar(&f.maxConns, "max-conns", 0, "most connections the stack holds (TIME-WAIT aside); a SYN beyond is dropped and counted (0: no limit; native engine)")
	fs.IntVar(&f.maxConnsPerPeer, "max-conns-per-peer", 0, "most connections of one peer (an IPv4 address, an IPv6 /64); a SYN beyond is dropped and counted (0: no limit; native engine)")
}

func (f *memFlags) config() (memConfig, error) {
	budget, ok := parseByteCount(f.bufferBudget)
	switch {
	case !ok:
		return memConfig{}, usage.Errorf("--buffer-budget %q: want a size like 512MiB, 2GiB or 65536", f.bufferBudget)
	case budget == 0:
		budget = -1 // no bound
	case budget < minBufferBudget:
		return memConfig{}, usage.Errorf("--buffer-budget %q: want at least 1MiB, or 0 for no bound", f.bufferBudget)
	}
	if f.maxConns < 0 || f.maxConnsPerPeer < 0 {
		return memConfig{}, usage.Errorf("--max-conns and --max-conns-per-peer must not be negative")
	}
	return memConfig{BufferBudget: budget, MaxConns: f.maxConns, MaxConnsPerPeer: f.maxConnsPerPeer}, nil
}

// apply puts the limits into the stack's options.
func (c memConfig) apply(o *stack.Options) {
	o.BufferBudget, o.MaxConns, o.MaxConnsPerPeer = c.BufferBudget, c.MaxConns, c.MaxConnsPerPeer
}
