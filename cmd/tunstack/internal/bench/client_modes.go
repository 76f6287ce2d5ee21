package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// oneShot is the connection of the connection figures: connect, send one
// byte, read the one byte back, read the stack's FIN, close. It returns
// how long the connect took.
func oneShot(ctx context.Context, d *net.Dialer, addr string) (time.Duration, error) {
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp4", addr)
	connect := time.Since(start)
	if err != nil {
		return connect, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(connTimeout))
	if _, err := c.Write([]byte{'x'}); err != nil {
		return connect, err
	}
	var b [2]byte
	if _, err := io.ReadFull(c, b[:1]); err != nil {
		return connect, fmt.Errorf("reading the reply: %w", err)
	}
	if n, err := c.Read(b[:]); n != 0 || !errors.Is(err, io.EOF) {
		return connect, fmt.Errorf("want the stack's FIN after the reply, got %d bytes, %v", n, err)
	}
	return connect, nil
}

// clientConnect runs Workers connection loops for Duration or Count
// connections, whichever ends first.
func clientConnect(ctx context.Context, cfg ClientConfig) ClientResult {
	d := &net.Dialer{Timeout: connTimeout}
	return oneShots(ctx, cfg, cfg.Count, func(int) *net.Dialer { return d })
}

// clientTimeWait makes Count connections like clientConnect, each from
// its own 4-tuple: source port 1024+i/len(Ports) on Source, destination
// port Ports[i%len(Ports)]. The stack closes first and keeps each in
// TIME-WAIT, so no 4-tuple may come back while it does; binding the
// source port guarantees that where the kernel's port choice would not.
// The source ports stay below lastTimeWaitPort, where the kernel's
// ephemeral ports begin (--port-range), so that no socket of the kernel's
// own (in TIME-WAIT after an earlier figure) holds one.
func clientTimeWait(ctx context.Context, cfg ClientConfig) ClientResult {
	const firstPort, lastTimeWaitPort = 1024, 20000
	count := min(cfg.Count, (lastTimeWaitPort-firstPort)*len(cfg.Ports))
	if count <= 0 {
		return ClientResult{} // every connection needs a 4-tuple of its own
	}
	return oneShots(ctx, cfg, count, func(i int) *net.Dialer {
		return &net.Dialer{
			Timeout:   connTimeout,
			LocalAddr: &net.TCPAddr{IP: cfg.Source, Port: firstPort + i/len(cfg.Ports)},
			Control:   reuseAddr,
		}
	})
}

// oneShots runs Workers loops of oneShot connections, the i-th through
// dialer(i) to cfg.addr(i), for Duration or count connections (0: no
// limit), whichever ends first.
func oneShots(ctx context.Context, cfg ClientConfig, count int, dialer func(i int) *net.Dialer) ClientResult {
	var done atomic.Int64
	var errs errorTally
	deadline := time.Now().Add(cfg.Duration)
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if count > 0 && i >= count {
					return
				}
				if _, err := oneShot(ctx, dialer(i), cfg.addr(i)); err != nil {
					errs.add(err)
					continue
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	r := ClientResult{Count: done.Load(), ElapsedNS: int64(time.Since(start))}
	errs.fill(&r)
	return r
}

func reuseAddr(network, address string, c syscall.RawConn) error {
	var err error
	if cerr := c.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	}); cerr != nil {
		return cerr
	}
	return err
}

// clientRR sends one byte and reads it back, again and again, on one
// connection to the echo service.
func clientRR(ctx context.Context, cfg ClientConfig) ClientResult {
	var r ClientResult
	var errs errorTally
	defer errs.fill(&r)
	d := &net.Dialer{Timeout: connTimeout}
	c, err := d.DialContext(ctx, "tcp4", cfg.addr(0))
	if err != nil {
		errs.add(err)
		return r
	}
	defer c.Close()
	var b [1]byte
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	c.SetDeadline(deadline.Add(connTimeout))
	for ctx.Err() == nil && (r.Count&63 != 0 || time.Now().Before(deadline)) {
		if _, err := c.Write(b[:]); err != nil {
			errs.add(err)
			break
		}
		if _, err := io.ReadFull(c, b[:]); err != nil {
			errs.add(err)
			break
		}
		r.Count++
	}
	r.ElapsedNS = int64(time.Since(start))
	return r
}

// bulkChunk is what a bulk stream writes or reads at a time.
const bulkChunk = 128 << 10

// clientUpload streams to the discard service on Workers connections for
// Duration, then half-closes and waits for the service's FIN, which comes
// once it has read everything: Bytes over Elapsed is what the stack took.
func clientUpload(ctx context.Context, cfg ClientConfig) ClientResult {
	return bulkStreams(ctx, cfg, func(c net.Conn, deadline time.Time, total *atomic.Int64, errs *errorTally) {
		chunk := make([]byte, bulkChunk)
		c.SetDeadline(deadline.Add(connTimeout))
		for ctx.Err() == nil && time.Now().Before(deadline) {
			n, err := c.Write(chunk)
			total.Add(int64(n))
			if err != nil {
				errs.add(err)
				return
			}
		}
		c.(*net.TCPConn).CloseWrite()
		if _, err := io.Copy(io.Discard, c); err != nil {
			errs.add(fmt.Errorf("waiting for the service to finish: %w", err))
		}
	})
}

// clientDownload reads from the source service on Workers connections for
// Duration and then closes them.
func clientDownload(ctx context.Context, cfg ClientConfig) ClientResult {
	return bulkStreams(ctx, cfg, func(c net.Conn, deadline time.Time, total *atomic.Int64, errs *errorTally) {
		buf := make([]byte, bulkChunk)
		c.SetReadDeadline(deadline)
		for ctx.Err() == nil {
			n, err := c.Read(buf)
			total.Add(int64(n))
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
			if err != nil {
				errs.add(err)
				return
			}
		}
	})
}

// bulkStreams opens Workers connections and runs stream on each at once
// until Duration has passed; the result counts the bytes they moved.
func bulkStreams(ctx context.Context, cfg ClientConfig, stream func(c net.Conn, deadline time.Time, total *atomic.Int64, errs *errorTally)) ClientResult {
	var total atomic.Int64
	var errs errorTally
	d := &net.Dialer{Timeout: connTimeout}
	conns := dialAll(ctx, d, cfg, &errs)
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			defer c.Close()
			stream(c, deadline, &total, &errs)
		})
	}
	wg.Wait()
	r := ClientResult{Count: int64(len(conns)), Bytes: total.Load(), ElapsedNS: int64(time.Since(start))}
	errs.fill(&r)
	return r
}

// dialAll opens Workers connections, one after the other.
func dialAll(ctx context.Context, d *net.Dialer, cfg ClientConfig, errs *errorTally) []net.Conn {
	var conns []net.Conn
	for i := range cfg.Workers {
		c, err := d.DialContext(ctx, "tcp4", cfg.addr(i))
		if err != nil {
			errs.add(err)
			continue
		}
		conns = append(conns, c)
	}
	return conns
}

// clientHold opens Count connections with Workers at a time and keeps
// them. Once all are open it writes its result as one line to out, then
// keeps them until hold reaches EOF (or HoldWait passes) and closes them.
func clientHold(ctx context.Context, cfg ClientConfig, out io.Writer, hold io.Reader) ClientResult {
	var errs errorTally
	d := &net.Dialer{Timeout: connTimeout}
	conns := make([]net.Conn, cfg.Count)
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= cfg.Count {
					return
				}
				c, err := d.DialContext(ctx, "tcp4", cfg.addr(i))
				if err != nil {
					errs.add(err)
					continue
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	r := ClientResult{ElapsedNS: int64(time.Since(start))}
	for _, c := range conns {
		if c != nil {
			r.Count++
		}
	}
	errs.fill(&r)
	json.NewEncoder(out).Encode(r)
	released := make(chan struct{})
	go func() {
		io.Copy(io.Discard, hold)
		close(released)
	}()
	select {
	case <-released:
	case <-time.After(cfg.HoldWait):
	case <-ctx.Done():
	}
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	return r
}

// maxInFlight bounds the latency mode's concurrent connections: past it, a
// scheduled connection is skipped and counted as an error, so that an
// overloaded stack cannot make the client pile up goroutines.
const maxInFlight = 4096

// clientLatency starts one oneShot connection every 1/Rate seconds for
// Duration, whether or not the earlier ones have finished (an open loop,
// so a slow stack cannot slow the load down), and reports the connect
// times' median and 99th percentile.
func clientLatency(ctx context.Context, cfg ClientConfig) ClientResult {
	var errs errorTally
	d := &net.Dialer{Timeout: connTimeout}
	total := int(cfg.Rate * cfg.Duration.Seconds())
	if cfg.Count > 0 {
		total = min(total, cfg.Count)
	}
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	var mu sync.Mutex
	connects := make([]time.Duration, 0, total)
	var inFlight atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	started := 0
	for started < total && ctx.Err() == nil {
		due := int(time.Since(start)/interval) + 1
		for ; started < min(due, total); started++ {
			if inFlight.Load() >= maxInFlight {
				errs.add(errors.New("too many connections in flight: the stack fell behind the offered load"))
				continue
			}
			inFlight.Add(1)
			addr := cfg.addr(started)
			wg.Go(func() {
				defer inFlight.Add(-1)
				connect, err := oneShot(ctx, d, addr)
				if err != nil {
					errs.add(err)
					return
				}
				mu.Lock()
				connects = append(connects, connect)
				mu.Unlock()
			})
		}
		time.Sleep(time.Until(start.Add(time.Duration(started) * interval)))
	}
	offered := float64(started) / time.Since(start).Seconds()
	wg.Wait()
	r := ClientResult{Count: int64(len(connects)), ElapsedNS: int64(time.Since(start)), Offered: offered}
	if len(connects) > 0 {
		slices.Sort(connects)
		r.P50NS = int64(percentile(connects, 0.50))
		r.P99NS = int64(percentile(connects, 0.99))
	}
	errs.fill(&r)
	return r
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}
