package tests

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// An honest client connects to the stack at a steady rate while a test
// attacks it, and records how each attempt went: what a legitimate user
// sees of an attack.

const (
	// honestRate is how many connections the honest client starts a second.
	honestRate = 20
	// honestConnectTimeout bounds one connect: the kernel's SYN, and its
	// one retransmission a second later, must be answered within it.
	honestConnectTimeout = 3 * time.Second
	// honestRequestTimeout bounds a whole attempt: connect, request,
	// response and close.
	honestRequestTimeout = 6 * time.Second
)

// honestAttempt is one connection of the honest client.
type honestAttempt struct {
	start   time.Time     // when it was due
	connect time.Duration // from when it began until the handshake completed; 0 if it did not
	err     error
}

// honestClient runs in the namespace of a daemon and fetches its HTTP page.
type honestClient struct {
	target   string // HOST:PORT of the stack's HTTP service
	jobs     chan time.Time
	stopRun  context.CancelFunc
	runDone  chan struct{}
	stopOnce sync.Once
	mu       sync.Mutex
	attempts []honestAttempt
	workers  sync.WaitGroup
}

// startHonestClient starts the client's workers, each on an OS thread of
// its own inside namespace ns, so that their sockets are the namespace's.
func startHonestClient(t *testing.T, ns, target string) *honestClient {
	t.Helper()
	h := &honestClient{target: target, jobs: make(chan time.Time, 1000), runDone: make(chan struct{})}
	// Enough workers for every attempt that can be running at once.
	workers := honestRate * int(honestRequestTimeout/time.Second) * 3 / 2
	ready := make(chan error, workers)
	for range workers {
		h.workers.Add(1)
		go h.work(ns, ready)
	}
	t.Cleanup(func() { h.stop() })
	for range workers {
		if err := <-ready; err != nil {
			t.Fatalf("honest client in namespace %s: %v", ns, err)
		}
	}
	return h
}

// work runs attempts on a thread switched into ns. The thread never
// switches back: when the goroutine ends, the runtime ends the thread
// with it.
func (h *honestClient) work(ns string, ready chan<- error) {
	defer h.workers.Done()
	runtime.LockOSThread()
	target, err := netns.GetFromName(ns)
	if err == nil {
		err = netns.Set(target)
		target.Close()
	}
	ready <- err
	if err != nil {
		return
	}
	for start := range h.jobs {
		a := h.attempt(start)
		h.mu.Lock()
		h.attempts = append(h.attempts, a)
		h.mu.Unlock()
	}
}

// attempt fetches the page once: a fresh connection, GET, the whole
// response, close.
func (h *honestClient) attempt(due time.Time) honestAttempt {
	a := honestAttempt{start: due}
	start := time.Now() // later than due if the machine is busy
	deadline := start.Add(honestRequestTimeout)
	d := net.Dialer{Timeout: honestConnectTimeout, Deadline: deadline}
	c, err := d.Dial("tcp", h.target)
	if err != nil {
		a.err = fmt.Errorf("connect: %w", err)
		return a
	}
	defer c.Close()
	a.connect = time.Since(start)
	c.SetDeadline(deadline)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: tunstack\r\nConnection: close\r\n\r\n"); err != nil {
		a.err = fmt.Errorf("request: %w", err)
		return a
	}
	body, err := io.ReadAll(bufio.NewReader(c))
	switch {
	case err != nil:
		a.err = fmt.Errorf("response after %d bytes: %w", len(body), err)
	case !strings.HasPrefix(string(body), "HTTP/1.1 200 OK") || !strings.Contains(string(body), "Hello from tunstack"):
		a.err = fmt.Errorf("response %q", body)
	}
	return a
}

// start starts an attempt every 1/honestRate seconds until stop.
func (h *honestClient) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.stopRun = cancel
	go h.run(ctx)
}

// run hands out an attempt every 1/honestRate seconds. On a busy machine
// it may wake late: then it hands out every attempt that has come due,
// so that the rate holds.
func (h *honestClient) run(ctx context.Context) {
	defer close(h.runDone)
	timer := time.NewTimer(0)
	defer timer.Stop()
	first := time.Now()
	for i := 1; ; i++ {
		due := first.Add(time.Duration(i) * time.Second / honestRate)
		timer.Reset(time.Until(due))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			h.jobs <- due
		}
	}
}

// stop starts no more attempts, waits for those under way and returns
// every attempt.
func (h *honestClient) stop() []honestAttempt {
	h.stopOnce.Do(func() {
		if h.stopRun != nil {
			h.stopRun()
			<-h.runDone
		}
		close(h.jobs)
		h.workers.Wait()
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	slices.SortFunc(h.attempts, func(a, b honestAttempt) int { return a.start.Compare(b.start) })
	return h.attempts
}

// honestReport sums up the attempts started within a period.
type honestReport struct {
	attempts, ok int
	connect      []time.Duration // of the attempts that connected, sorted
	failures     []string        // the first few
}

func summarize(attempts []honestAttempt, from, to time.Time) honestReport {
	var r honestReport
	for _, a := range attempts {
		if a.start.Before(from) || !a.start.Before(to) {
			continue
		}
		r.attempts++
		if a.connect > 0 {
			r.connect = append(r.connect, a.connect)
		}
		if a.err == nil {
			r.ok++
		} else if len(r.failures) < 10 {
			r.failures = append(r.failures, fmt.Sprintf("%s: %v", a.start.Sub(from).Round(time.Millisecond), a.err))
		}
	}
	slices.Sort(r.connect)
	return r
}

func (r honestReport) successRate() float64 {
	if r.attempts == 0 {
		return 0
	}
	return float64(r.ok) / float64(r.attempts)
}

// percentile is the connect latency below which p of the connects fell.
func (r honestReport) percentile(p float64) time.Duration {
	if len(r.connect) == 0 {
		return 0
	}
	return r.connect[min(len(r.connect)-1, int(p*float64(len(r.connect))))]
}

func (r honestReport) String() string {
	return fmt.Sprintf("%d/%d succeeded (%.1f %%), connect p50 %v p90 %v p99 %v max %v",
		r.ok, r.attempts, 100*r.successRate(),
		r.percentile(0.5).Round(10*time.Microsecond), r.percentile(0.9).Round(10*time.Microsecond),
		r.percentile(0.99).Round(10*time.Microsecond), r.percentile(1).Round(10*time.Microsecond))
}
