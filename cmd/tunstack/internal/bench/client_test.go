package bench

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/clitest"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/services"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/tests/testkit"
)

// These tests run the bench's services on kernel listeners on the
// loopback address and drive them with the bench client, as the bench
// does over the TUN: each mode against the service it is meant for.

func loopbackClient(mode string, port uint16) ClientConfig {
	return ClientConfig{
		Mode:     mode,
		Target:   net.IPv4(127, 0, 0, 1),
		Source:   net.IPv4(127, 77, 0, 1),
		Ports:    []uint16{port},
		Duration: 200 * time.Millisecond,
		Workers:  2,
		Count:    50,
	}
}

func runLoopbackClient(t *testing.T, cfg ClientConfig) ClientResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := RunClient(ctx, cfg, io.Discard, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors > 0 {
		t.Errorf("%s: %d errors, the first: %s", cfg.Mode, res.Errors, res.FirstError)
	}
	return res
}

func TestClientConnectAgainstOneShot(t *testing.T) {
	port := loopbackPort(t, services.ServeOneShot)
	for _, mode := range []string{ModeConnect, ModeLatency} {
		t.Run(mode, func(t *testing.T) {
			cfg := loopbackClient(mode, port)
			cfg.Rate = 200
			res := runLoopbackClient(t, cfg)
			if res.Count == 0 || res.Count > int64(cfg.Count) {
				t.Errorf("%d connections, want 1 to %d", res.Count, cfg.Count)
			}
			if mode == ModeLatency && (res.P50NS <= 0 || res.P99NS < res.P50NS) {
				t.Errorf("p50 %v p99 %v", time.Duration(res.P50NS), time.Duration(res.P99NS))
			}
		})
	}
}

// TestClientTimeWaitUsesDistinctTuples binds a source address of its own
// so that its fixed source ports meet nothing else on the machine.
func TestClientTimeWaitUsesDistinctTuples(t *testing.T) {
	port := loopbackPort(t, services.ServeOneShot)
	cfg := loopbackClient(ModeTimeWait, port)
	cfg.Duration = 10 * time.Second
	cfg.Count = 20
	if res := runLoopbackClient(t, cfg); res.Count != 20 {
		t.Errorf("%d connections, want 20", res.Count)
	}
}

func TestClientRoundTrips(t *testing.T) {
	echo := func(ln net.Listener) error {
		return stack.Serve(ln, func(c net.Conn) { io.Copy(c, c) })
	}
	res := runLoopbackClient(t, loopbackClient(ModeRR, loopbackPort(t, echo)))
	if res.Count == 0 {
		t.Error("no round trip")
	}
}

func TestClientBulk(t *testing.T) {
	discard := func(ln net.Listener) error {
		return stack.Serve(ln, func(c net.Conn) { io.Copy(io.Discard, c) })
	}
	for _, tc := range []struct {
		mode  string
		serve func(net.Listener) error
	}{
		{ModeUpload, discard},
		{ModeDownload, services.ServeSource},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			cfg := loopbackClient(tc.mode, loopbackPort(t, tc.serve))
			res := runLoopbackClient(t, cfg)
			if res.Count != int64(cfg.Workers) || res.Bytes < bulkChunk {
				t.Errorf("%d streams moved %d bytes, want %d streams and at least %d bytes", res.Count, res.Bytes, cfg.Workers, bulkChunk)
			}
		})
	}
}

// TestClientHold checks that hold reports once all its connections are
// open, that the hold service then holds them all, and that both let go.
func TestClientHold(t *testing.T) {
	port := loopbackPort(t, services.ServeHold)
	cfg := loopbackClient(ModeHold, port)
	cfg.HoldWait = 10 * time.Second
	before := services.Held()
	release, hold := io.Pipe()
	reported, report := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := RunClient(context.Background(), cfg, report, release)
		report.Close()
		done <- err
	}()
	line := make([]byte, 4096)
	n, err := reported.Read(line)
	if err != nil {
		t.Fatal(err)
	}
	res, err := readClientResult(line[:n])
	if err != nil || res.Count != int64(cfg.Count) {
		t.Fatalf("hold reported %+v, %v; want %d connections", res, err, cfg.Count)
	}
	testkit.Eventually(t, "the hold service to hold every connection", func() bool {
		return services.Held()-before == int64(cfg.Count)
	})
	hold.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunClientRejectsUnknownMode(t *testing.T) {
	_, err := RunClient(context.Background(), ClientConfig{Mode: "nope", Ports: []uint16{7}}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "unknown mode") {
		t.Errorf("RunClient(mode nope) = %v", err)
	}
	_, err = RunClient(context.Background(), ClientConfig{Mode: ModeConnect}, io.Discard, nil)
	if err == nil {
		t.Error("runClient without ports succeeded")
	}
}

// loopbackPort serves a bench service on the loopback address and returns
// its port.
func loopbackPort(t *testing.T, serve func(net.Listener) error) uint16 {
	return uint16(clitest.ServeLoopback(t, serve).Port)
}
