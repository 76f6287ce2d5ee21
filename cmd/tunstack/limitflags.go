package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tunstack/tunstack/stack"
)

// limitFlags are the bounds of `tunstack up` on what peers can make the
// stack hold: the buffer budget and the connection limits.
type limitFlags struct {
	bufferBudget    string
	maxConns        int
	maxConnsPerPeer int
}

// limitConfig is what limitFlags validate to.
type limitConfig struct {
	// BufferBudget is stack.Options.BufferBudget: bytes, or -1 for no
	// bound.
	BufferBudget    int64
	MaxConns        int
	MaxConnsPerPeer int
}

// minBufferBudget is the smallest budget --buffer-budget takes: below it
// every connection would live on its floor.
const minBufferBudget = 1 << 20

func (f *limitFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.bufferBudget, "buffer-budget", "512MiB", "memory all connections' buffers share, like 512MiB or 2GiB (0: no bound); receive windows shrink and writers wait as it fills (native engine)")
	fs.IntVar(&f.maxConns, "max-conns", 0, "most connections the stack holds (TIME-WAIT aside); a SYN beyond is dropped and counted (0: no limit; native engine)")
	fs.IntVar(&f.maxConnsPerPeer, "max-conns-per-peer", 0, "most connections of one peer (an IPv4 address, an IPv6 /64); a SYN beyond is dropped and counted (0: no limit; native engine)")
}

func (f *limitFlags) config() (limitConfig, error) {
	budget, err := parseSize(f.bufferBudget)
	switch {
	case err != nil:
		return limitConfig{}, usageErrorf("--buffer-budget %q: %v", f.bufferBudget, err)
	case budget == 0:
		budget = -1 // no bound
	case budget < minBufferBudget:
		return limitConfig{}, usageErrorf("--buffer-budget %q: want at least 1MiB, or 0 for no bound", f.bufferBudget)
	}
	if f.maxConns < 0 || f.maxConnsPerPeer < 0 {
		return limitConfig{}, usageErrorf("--max-conns and --max-conns-per-peer must not be negative")
	}
	return limitConfig{BufferBudget: budget, MaxConns: f.maxConns, MaxConnsPerPeer: f.maxConnsPerPeer}, nil
}

// apply puts the limits into the stack's options.
func (c limitConfig) apply(o *stack.Options) {
	o.BufferBudget, o.MaxConns, o.MaxConnsPerPeer = c.BufferBudget, c.MaxConns, c.MaxConnsPerPeer
}

// sizeUnits are the suffixes parseSize knows, all powers of 1024 as in
// ulimit, docker and the JVM; lower case.
var sizeUnits = []struct {
	suffix string
	shift  uint
}{
	{"kib", 10}, {"mib", 20}, {"gib", 30}, {"tib", 40},
	{"kb", 10}, {"mb", 20}, {"gb", 30}, {"tb", 40},
	{"k", 10}, {"m", 20}, {"g", 30}, {"t", 40},
	{"b", 0},
}

// parseSize parses a number of bytes, with an optional unit: 512MiB,
// 512M, 1.5GiB, 65536.
func parseSize(text string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(text))
	shift := uint(0)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, shift = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.shift
			break
		}
	}
	if s == "" || strings.Trim(s, "0123456789.") != "" {
		return 0, errBadSize
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, errBadSize
	}
	bytes := v * float64(uint64(1)<<shift)
	if bytes >= 1<<62 {
		return 0, errBadSize
	}
	return int64(bytes), nil
}

var errBadSize = errors.New("want a size like 512MiB, 2GiB or 65536")
