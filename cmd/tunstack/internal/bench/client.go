package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The bench client is the load generator that `tunstack bench` runs inside
// its namespace (`ip netns exec NS tunstack bench client ...`), one mode at
// a time, with the kernel's TCP on its side. It prints one JSON object,
// a ClientResult, on stdout. Every mode is bounded in time and count.

// Client modes.
const (
	ModeConnect  = "connect"  // connections, each 1 byte each way, the stack closing first
	ModeRR       = "rr"       // 1-byte round trips on one connection
	ModeUpload   = "upload"   // bulk kernel→stack into the discard service
	ModeDownload = "download" // bulk stack→kernel from the source service
	ModeHold     = "hold"     // open connections and keep them until stdin closes
	ModeTimeWait = "timewait" // like connect, over distinct 4-tuples chosen by the client
	ModeLatency  = "latency"  // connect at a fixed rate, open loop, and time the connects
)

// ClientConfig is what one client run does.
type ClientConfig struct {
	Mode     string
	Target   net.IP   // the stack's address
	Source   net.IP   // the kernel's address, for ModeTimeWait's binds
	Ports    []uint16 // service ports, used in turn
	Duration time.Duration
	Workers  int     // concurrent connections or streams
	Count    int     // most connections (connect, timewait, hold)
	Rate     float64 // connections per second (latency)
	// PortRange sets net.ipv4.ip_local_port_range in the client's
	// namespace first, "LOW HIGH"; empty leaves it.
	PortRange string
	// TWReuse sets net.ipv4.tcp_tw_reuse in the client's namespace first:
	// new connections may take a port the kernel holds in TIME-WAIT.
	TWReuse bool
	// HoldWait bounds how long ModeHold keeps its connections.
	HoldWait time.Duration
}

// ClientResult is what one client run measured.
type ClientResult struct {
	Count      int64   `json:"count"` // connections, round trips
	Bytes      int64   `json:"bytes"`
	ElapsedNS  int64   `json:"elapsed_ns"`
	Errors     int64   `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	P50NS      int64   `json:"p50_ns,omitempty"`
	P99NS      int64   `json:"p99_ns,omitempty"`
	Offered    float64 `json:"offered,omitempty"` // connections per second started (latency)
}

func (r ClientResult) elapsed() time.Duration { return time.Duration(r.ElapsedNS) }

// perSecond is Count per second of Elapsed.
func (r ClientResult) perSecond() float64 {
	if r.ElapsedNS <= 0 {
		return 0
	}
	return float64(r.Count) / r.elapsed().Seconds()
}

// errorTally counts errors and keeps the first.
type errorTally struct {
	n     atomic.Int64
	once  sync.Once
	first string
}

func (e *errorTally) add(err error) {
	e.n.Add(1)
	e.once.Do(func() { e.first = err.Error() })
}

func (e *errorTally) fill(r *ClientResult) {
	r.Errors = e.n.Load()
	if r.Errors > 0 {
		r.FirstError = e.first
	}
}

// connTimeout bounds each step of one connection in every mode.
const connTimeout = 10 * time.Second

// RunClient runs one mode and returns what it measured. hold is read in
// ModeHold: the client keeps its connections until it reaches EOF.
func RunClient(ctx context.Context, cfg ClientConfig, out io.Writer, hold io.Reader) (ClientResult, error) {
	if cfg.PortRange != "" {
		if err := os.WriteFile("/proc/sys/net/ipv4/ip_local_port_range", []byte(cfg.PortRange), 0o644); err != nil {
			return ClientResult{}, fmt.Errorf("setting the local port range: %w", err)
		}
	}
	if cfg.TWReuse {
		if err := os.WriteFile("/proc/sys/net/ipv4/tcp_tw_reuse", []byte("1"), 0o644); err != nil {
			return ClientResult{}, fmt.Errorf("setting tcp_tw_reuse: %w", err)
		}
	}
	if len(cfg.Ports) == 0 {
		return ClientResult{}, errors.New("no ports")
	}
	if cfg.Mode == ModeHold {
		if err := raiseOpenFiles(uint64(cfg.Count + 256)); err != nil {
			return ClientResult{}, err
		}
	}
	cfg.Workers = max(cfg.Workers, 1)
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration+2*connTimeout+cfg.HoldWait+time.Minute)
	defer cancel()
	switch cfg.Mode {
	case ModeConnect:
		return clientConnect(ctx, cfg), nil
	case ModeTimeWait:
		return clientTimeWait(ctx, cfg), nil
	case ModeRR:
		return clientRR(ctx, cfg), nil
	case ModeUpload:
		return clientUpload(ctx, cfg), nil
	case ModeDownload:
		return clientDownload(ctx, cfg), nil
	case ModeHold:
		return clientHold(ctx, cfg, out, hold), nil
	case ModeLatency:
		return clientLatency(ctx, cfg), nil
	}
	return ClientResult{}, fmt.Errorf("unknown mode %q", cfg.Mode)
}

func (cfg ClientConfig) addr(i int) string {
	return net.JoinHostPort(cfg.Target.String(), strconv.Itoa(int(cfg.Ports[i%len(cfg.Ports)])))
}

// ParsePorts parses "7101,7102" or "7101-7104".
func ParsePorts(text string) ([]uint16, error) {
	var ports []uint16
	for _, item := range strings.Split(text, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(item), "-")
		if !isRange {
			hi = lo
		}
		first, err1 := strconv.ParseUint(lo, 10, 16)
		last, err2 := strconv.ParseUint(hi, 10, 16)
		if err1 != nil || err2 != nil || first == 0 || last < first {
			return nil, fmt.Errorf("bad port list %q", text)
		}
		for p := first; p <= last; p++ {
			ports = append(ports, uint16(p))
		}
	}
	return ports, nil
}

// readClientResult parses the last line a client printed.
func readClientResult(output []byte) (ClientResult, error) {
	var last []byte
	sc := bufio.NewScanner(strings.NewReader(string(output)))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			last = []byte(line)
		}
	}
	var r ClientResult
	if err := json.Unmarshal(last, &r); err != nil {
		return ClientResult{}, fmt.Errorf("bench client printed %q: %w", string(output), err)
	}
	return r, nil
}

// raiseOpenFiles makes room for n descriptors: ModeHold keeps one per
// connection. Root may raise the hard limit too, up to fs.nr_open.
func raiseOpenFiles(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= n {
		return nil
	}
	lim.Cur = n
	lim.Max = max(lim.Max, n)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raising the open files limit to %d: %w", n, err)
	}
	return nil
}
