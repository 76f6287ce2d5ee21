package tests

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// The transfer under impairment (issue 4): the daemon impairs its own link
// both ways (2% loss, 1% reordering, 1% duplication, 20 ms delay), and
// nftables drops another 2% of the packets on the kernel's side of the TUN,
// so that the loss is also made by a tool no one here wrote.
const (
	impairSpec = "loss=2%,reorder=1%,dup=1%,delay=20ms"
	// nftLossPercent is what the kernel drops each way.
	nftLossPercent = 2
	// impairMiBEnv sets how many MiB go each way; impairDefaultMiB is
	// small enough for CI.
	impairMiBEnv     = "TUNSTACK_IMPAIR_MIB"
	impairDefaultMiB = 2
	// stallTimeout fails the transfer when no byte moved for this long.
	stallTimeout = 60 * time.Second
)

// TestTransferUnderImpairment sends N MiB of pseudo-random bytes to the
// echo service with nc (N from TUNSTACK_IMPAIR_MIB, default 8) through the
// impaired link, and checks that the sha256 of what comes back is that of
// what was sent: N MiB kernel to stack, and the same N MiB stack to kernel.
// It then checks that both impairments did drop packets.
func TestTransferUnderImpairment(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.RequireCommand(t, "nft", "nftables")
	mib := impairMiB(t)
	t.Parallel()

	d := startDaemon(t, "--impair", impairSpec)
	dropOnTUN(t, d.ns, "tunstack0", nftLossPercent)

	size := int64(mib) << 20
	payload := newPatternReader(size, uint64(size))
	back := &countingHash{h: sha256.New()}
	name, args := inNamespace(d.ns, "nc", "-N", stackIPv4, "7")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	nc := exec.CommandContext(ctx, name, args...)
	nc.Stdin, nc.Stdout = payload, back
	var ncErr strings.Builder
	nc.Stderr = &ncErr
	nc.WaitDelay = time.Second

	start := time.Now()
	if err := nc.Start(); err != nil {
		t.Fatalf("starting nc: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- nc.Wait() }()
	watchCtx, stopWatching := context.WithCancel(ctx)
	stalled := watchProgress(watchCtx, payload.sent.Load, back.n.Load)
	var err error
	select {
	case err = <-done:
		stopWatching()
	case state := <-stalled:
		diagnostics := impairDiagnostics(t, d) // before nc goes, taking its socket
		cancel()
		<-done
		t.Fatalf("transfer stalled: no byte moved for %v after %v (sent %d of %d bytes, %d came back)\n%s\n%s",
			stallTimeout, time.Since(start).Round(time.Second), payload.sent.Load(), size, back.n.Load(),
			state, diagnostics)
	case <-beforeDeadline(t):
		diagnostics := impairDiagnostics(t, d)
		cancel()
		<-done
		elapsed := time.Since(start)
		t.Fatalf("transfer too slow for the test's deadline: after %v sent %d of %d bytes, %d came back (%.3f MiB/s); lower %s or raise go test -timeout\n%s",
			elapsed.Round(time.Second), payload.sent.Load(), size, back.n.Load(),
			float64(back.n.Load())/(1<<20)/elapsed.Seconds(), impairMiBEnv, diagnostics)
	}
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("nc -N %s 7 after %v: %v (sent %d of %d bytes, %d came back): %s\n%s",
			stackIPv4, elapsed.Round(time.Millisecond), err, payload.sent.Load(), size, back.n.Load(), ncErr.String(),
			impairDiagnostics(t, d))
	}
	sent, got := payload.sum(), back.h.Sum(nil)
	if back.n.Load() != size || string(sent) != string(got) {
		t.Fatalf("echo returned %d bytes with sha256 %x; sent %d bytes with sha256 %x\n%s",
			back.n.Load(), got, size, sent, impairDiagnostics(t, d))
	}
	t.Logf("%d MiB each way, byte-identical, in %v: %.3f MiB/s each way (%s, and nft dropping %d%% each way)",
		mib, elapsed.Round(time.Millisecond), float64(mib)/elapsed.Seconds(), impairSpec, nftLossPercent)

	// The kernel's drops, from its own counters.
	for _, chain := range []string{"out", "in"} {
		seen, dropped := nftCounters(t, d.ns, chain)
		t.Logf("nft %s: %d packets on the TUN, %d dropped", chain, seen, dropped)
		if seen >= 500 && dropped == 0 {
			t.Errorf("nft %s saw %d packets on the TUN and dropped none", chain, seen)
		}
	}
	// The daemon's drops, from the counters it logs as it stops.
	d.cmd.Process.Signal(syscall.SIGTERM)
	if !d.wait(stopTimeout) {
		t.Fatalf("daemon still running %v after SIGTERM", stopTimeout)
	}
	for _, dir := range []string{"rx", "tx"} {
		c := impairCounters(t, d.stderr.String(), dir)
		t.Logf("impairment %s: %v", dir, c)
		if c["packets"] >= 500 && (c["lost"] == 0 || c["delivered"] == 0) {
			t.Errorf("impairment %s: %d packets, %d lost, %d delivered", dir, c["packets"], c["lost"], c["delivered"])
		}
	}
}

// beforeDeadline fires shortly before go test's -timeout would end the
// run, so that a slow transfer fails with its figures and diagnostics
// rather than a dump of goroutines; never when there is no deadline.
func beforeDeadline(t *testing.T) <-chan time.Time {
	deadline, ok := t.Deadline()
	if !ok {
		return nil
	}
	const margin = 30 * time.Second
	return time.After(time.Until(deadline) - margin)
}

// impairMiB reads TUNSTACK_IMPAIR_MIB.
func impairMiB(t *testing.T) int {
	t.Helper()
	text := os.Getenv(impairMiBEnv)
	if text == "" {
		return impairDefaultMiB
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > 4096 {
		t.Fatalf("%s=%q: want a number of MiB from 1 to 4096", impairMiBEnv, text)
	}
	return n
}

// dropOnTUN makes nftables in ns drop percent of the packets leaving and
// entering dev, with counters of all and of the dropped packets.
func dropOnTUN(t *testing.T, ns, dev string, percent int) {
	t.Helper()
	rules := fmt.Sprintf(`table inet imp {
	chain out {
		type filter hook output priority 0;
		oifname %[1]q counter
		oifname %[1]q numgen random mod 100 < %[2]d counter drop
	}
	chain in {
		type filter hook input priority 0;
		iifname %[1]q counter
		iifname %[1]q numgen random mod 100 < %[2]d counter drop
	}
}
`, dev, percent)
	if r := runIn(t, ns, []byte(rules), "nft", "-f", "-"); r.err != nil {
		t.Fatalf("nft -f (rules in %s): %v\nrules:\n%s", ns, r, rules)
	}
}

var nftCounterRE = regexp.MustCompile(`counter packets (\d+) bytes \d+( drop)?`)

// nftCounters reads the chain's counters: packets seen, packets dropped.
func nftCounters(t *testing.T, ns, chain string) (seen, dropped uint64) {
	t.Helper()
	out := mustRun(t, "ip", "netns", "exec", ns, "nft", "list", "chain", "inet", "imp", chain)
	for _, m := range nftCounterRE.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		if m[2] != "" {
			dropped = n
		} else {
			seen = n
		}
	}
	return seen, dropped
}

// impairCounters parses the daemon's last "impairment counters" log line
// for one direction ("rx" or "tx"), as the text log writes it:
// rx.packets=12 rx.lost=1 ...
func impairCounters(t *testing.T, log, dir string) map[string]uint64 {
	t.Helper()
	var line string
	for l := range strings.Lines(log) {
		if strings.Contains(l, `msg="impairment counters"`) {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("the daemon logged no impairment counters:\n%s", log)
	}
	counters := map[string]uint64{}
	for _, field := range strings.Fields(line) {
		key, value, ok := strings.Cut(field, "=")
		name, inDir := strings.CutPrefix(key, dir+".")
		if !ok || !inDir {
			continue
		}
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			t.Fatalf("impairment counter %s=%q: %v", key, value, err)
		}
		counters[name] = n
	}
	return counters
}

// watchProgress reports on the returned channel, with the byte counts, if
// no count moves for stallTimeout before ctx ends.
func watchProgress(ctx context.Context, counts ...func() int64) <-chan string {
	stalled := make(chan string, 1)
	go func() {
		ticker := time.NewTicker(time.Second)
		defer ticker.Stop()
		last, lastMove := make([]int64, len(counts)), time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			moved := false
			for i, count := range counts {
				if n := count(); n != last[i] {
					last[i], moved = n, true
				}
			}
			if moved {
				lastMove = time.Now()
				continue
			}
			if time.Since(lastMove) >= stallTimeout {
				stalled <- fmt.Sprintf("counts %v unchanged since %v", last, lastMove.Format(time.TimeOnly))
				return
			}
		}
	}()
	return stalled
}

// impairDiagnostics gathers what explains a failed transfer: the daemon's
// status (counters and connections), the kernel's view of its socket and
// the nft counters.
func impairDiagnostics(t *testing.T, d *daemon) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "daemon status: %s\n", rawStatus(d.control))
	if r := runIn(t, d.ns, nil, "ss", "-tni"); r.err == nil {
		fmt.Fprintf(&b, "kernel sockets (ss -tni):\n%s", r.stdout)
	}
	if r := runIn(t, d.ns, nil, "nft", "list", "table", "inet", "imp"); r.err == nil {
		fmt.Fprintf(&b, "nft:\n%s", r.stdout)
	}
	return b.String()
}

// rawStatus is the daemon's status reply without its listeners, or why
// there is none.
func rawStatus(control string) string {
	line, err := statusLine(control)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	var reply map[string]any
	if err := json.Unmarshal(line, &reply); err != nil {
		return fmt.Sprintf("(status reply %q: %v)", line, err)
	}
	conns, _ := reply["connections"].([]any)
	var open []any
	for _, c := range conns {
		if c, ok := c.(map[string]any); ok && c["state"] != "LISTEN" {
			open = append(open, c)
		}
	}
	reply["connections"] = open
	out, _ := json.MarshalIndent(reply, "", "  ")
	return string(out)
}

// patternReader is size pseudo-random bytes from a seed, hashed as they
// are read, so that a transfer of gigabytes needs no memory for them.
type patternReader struct {
	rng  *rand.ChaCha8
	left int64
	h    hash.Hash
	sent atomic.Int64
}

func newPatternReader(size int64, seed uint64) *patternReader {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	return &patternReader{rng: rand.NewChaCha8(key), left: size, h: sha256.New()}
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.left)]
	r.rng.Read(p)
	r.h.Write(p)
	r.left -= int64(len(p))
	r.sent.Add(int64(len(p)))
	return len(p), nil
}

// sum is the sha256 of what was read, once all of it has been.
func (r *patternReader) sum() []byte { return r.h.Sum(nil) }

// countingHash hashes and counts what is written to it.
type countingHash struct {
	h hash.Hash
	n atomic.Int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n.Add(int64(len(p)))
	return len(p), nil
}
