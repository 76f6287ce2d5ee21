package kernelstates

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

var (
	kernelAddr = netip.MustParseAddr("10.77.100.1")
	stackAddr  = netip.MustParseAddr("10.77.100.2")
)

// traceLine writes a line as the tracepoint would, at ms milliseconds.
func traceLine(ms float64, sport, dport uint16, from, to string) string {
	return fmt.Sprintf("   nc-1 [000] ..... %.6f: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=%d dport=%d saddr=%s daddr=%s saddrv6=::ffff:%[4]s daddrv6=::ffff:%[5]s oldstate=%s newstate=%s",
		100+ms/1000, sport, dport, kernelAddr, stackAddr, from, to)
}

// fakeDiag answers sock_diag questions from a map.
type fakeDiag map[ends]tcp.State

func (f fakeDiag) state(e ends) (tcp.State, bool) {
	st, ok := f[e]
	return st, ok
}

// newTestTracer is a Tracer without tracefs: lines go in with handle.
// Its trace clock reads 100 s at wall time epoch.
func newTestTracer(diag stateReader) *Tracer {
	return &Tracer{
		opts:    Options{Kernel: []netip.Addr{kernelAddr}, Stack: []netip.Addr{stackAddr}},
		recs:    newRecords(),
		markers: map[string]chan struct{}{},
		diag:    diag,
		wall:    epoch, mono: 100 * time.Second, started: epoch,
	}
}

var epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func stackID(stackPort, kernelPort uint16) tcp.ID {
	return tcp.ID{Local: netip.AddrPortFrom(stackAddr, stackPort), Remote: netip.AddrPortFrom(kernelAddr, kernelPort)}
}

func states(t *testing.T, tr *Tracer, id tcp.ID) []tcp.State {
	t.Helper()
	rep, ok := tr.Report(id, epoch, epoch.Add(time.Hour))
	if !ok {
		t.Fatal("Report: not ok")
	}
	return rep.States()
}

// TestKernelClientClosesFirst is nc -N against the stack's echo service:
// the connect's first change has no port yet, and the socket's end in
// FIN-WAIT-2 is the TIME-WAIT mini-socket taking over.
func TestKernelClientClosesFirst(t *testing.T) {
	tr := newTestTracer(fakeDiag{{netip.AddrPortFrom(kernelAddr, 40000), netip.AddrPortFrom(stackAddr, 7)}: tcp.TimeWait})
	for _, l := range []string{
		traceLine(0, 0, 7, "TCP_CLOSE", "TCP_SYN_SENT"),
		traceLine(0.1, 40000, 7, "TCP_SYN_SENT", "TCP_ESTABLISHED"),
		traceLine(0.3, 40000, 7, "TCP_ESTABLISHED", "TCP_FIN_WAIT1"),
		traceLine(0.4, 40000, 7, "TCP_FIN_WAIT1", "TCP_FIN_WAIT2"),
		traceLine(0.5, 40000, 7, "TCP_FIN_WAIT2", "TCP_CLOSE"),
		// Another connection and another address: not this one's.
		traceLine(0.6, 40001, 7, "TCP_CLOSE", "TCP_SYN_SENT"),
		strings.Replace(traceLine(0.7, 40000, 7, "TCP_CLOSE", "TCP_SYN_SENT"), "daddr=10.77.100.2", "daddr=10.77.0.2", 1),
	} {
		tr.handle(l)
	}
	want := []tcp.State{tcp.Closed, tcp.SynSent, tcp.Established, tcp.FinWait1, tcp.FinWait2, tcp.TimeWait}
	if got := states(t, tr, stackID(7, 40000)); !slices.Equal(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}
	rep, _ := tr.Report(stackID(7, 40000), epoch, epoch.Add(time.Hour))
	if got, want := rep.Changes[0].Time, epoch.Add(500*time.Nanosecond); !got.Equal(want) {
		t.Errorf("first change at %v, want %v (trace clock 100 s = epoch, mid-microsecond)", got, want)
	}
	if n := rep.Changes[4].Note; !strings.Contains(n, "TCP_FIN_WAIT2 → TCP_CLOSE") || !strings.Contains(n, "mini-socket") {
		t.Errorf("TIME-WAIT note %q", n)
	}
}

// TestKernelServerChild: a listener's child reports SYN-RECEIVED when the
// ACK arrives; the request socket's own state is dropped; the listener's
// changes are no connection's.
func TestKernelServerChild(t *testing.T) {
	tr := newTestTracer(nil)
	for _, l := range []string{
		traceLine(0, 9000, 0, "TCP_CLOSE", "TCP_LISTEN"),
		traceLine(1, 9000, 49152, "TCP_LISTEN", "TCP_NEW_SYN_RECV"),
		traceLine(1, 9000, 49152, "TCP_NEW_SYN_RECV", "TCP_SYN_RECV"),
		traceLine(1, 9000, 49152, "TCP_SYN_RECV", "TCP_ESTABLISHED"),
		traceLine(2, 9000, 49152, "TCP_ESTABLISHED", "TCP_CLOSE_WAIT"),
		traceLine(3, 9000, 49152, "TCP_CLOSE_WAIT", "TCP_LAST_ACK"),
		traceLine(4, 9000, 49152, "TCP_LAST_ACK", "TCP_CLOSE"),
		traceLine(5, 9000, 0, "TCP_LISTEN", "TCP_CLOSE"),
	} {
		tr.handle(l)
	}
	want := []tcp.State{tcp.Listen, tcp.SynReceived, tcp.Established, tcp.CloseWait, tcp.LastAck, tcp.Closed}
	if got := states(t, tr, stackID(49152, 9000)); !slices.Equal(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}
}

// TestKernelWithoutSocket: nothing reported for a connection means the
// kernel had no socket; a connection older than the Tracer is unknown.
func TestKernelWithoutSocket(t *testing.T) {
	tr := newTestTracer(nil)
	rep, ok := tr.Report(stackID(49153, 9), epoch, epoch.Add(time.Second))
	if !ok || len(rep.Changes) != 0 || rep.Name != "kernel" || rep.Source != Source {
		t.Errorf("Report = %+v, %v; want an empty kernel report", rep, ok)
	}
	if _, ok := tr.Report(stackID(49153, 9), epoch.Add(-time.Second), epoch); ok {
		t.Error("Report of a connection that began before the Tracer: ok")
	}
}

// TestKernelReusedPorts: the same 4-tuple twice; each connection gets its
// own record, by when the stack saw it end.
func TestKernelReusedPorts(t *testing.T) {
	tr := newTestTracer(nil)
	for _, l := range []string{
		traceLine(0, 0, 80, "TCP_CLOSE", "TCP_SYN_SENT"),
		traceLine(1, 40000, 80, "TCP_SYN_SENT", "TCP_CLOSE"), // refused
		traceLine(10, 0, 80, "TCP_CLOSE", "TCP_SYN_SENT"),
		traceLine(11, 40000, 80, "TCP_SYN_SENT", "TCP_ESTABLISHED"),
	} {
		tr.handle(l)
	}
	first, _ := tr.Report(stackID(80, 40000), epoch, epoch.Add(2*time.Millisecond))
	second, _ := tr.Report(stackID(80, 40000), epoch, epoch.Add(20*time.Millisecond))
	if got := first.States(); !slices.Equal(got, []tcp.State{tcp.Closed, tcp.SynSent, tcp.Closed}) {
		t.Errorf("first connection %v", got)
	}
	if got := second.States(); !slices.Equal(got, []tcp.State{tcp.Closed, tcp.SynSent, tcp.Established}) {
		t.Errorf("second connection %v", got)
	}
}

// TestKernelFinWait2MiniSocket: a program that closed before the peer's
// FIN leaves a FIN-WAIT-2 mini-socket, whose move to TIME-WAIT fires no
// tracepoint: Report reads it again.
func TestKernelFinWait2MiniSocket(t *testing.T) {
	key := ends{netip.AddrPortFrom(kernelAddr, 40000), netip.AddrPortFrom(stackAddr, 80)}
	diag := fakeDiag{key: tcp.FinWait2}
	tr := newTestTracer(diag)
	for _, l := range []string{
		traceLine(0, 0, 80, "TCP_CLOSE", "TCP_SYN_SENT"),
		traceLine(1, 40000, 80, "TCP_SYN_SENT", "TCP_ESTABLISHED"),
		traceLine(2, 40000, 80, "TCP_ESTABLISHED", "TCP_FIN_WAIT1"),
		traceLine(3, 40000, 80, "TCP_FIN_WAIT1", "TCP_FIN_WAIT2"),
		traceLine(3, 40000, 80, "TCP_FIN_WAIT2", "TCP_CLOSE"),
	} {
		tr.handle(l)
	}
	if got := states(t, tr, stackID(80, 40000)); !slices.Equal(got, []tcp.State{tcp.Closed, tcp.SynSent, tcp.Established, tcp.FinWait1, tcp.FinWait2}) {
		t.Errorf("while the mini-socket is in FIN-WAIT-2: %v", got)
	}
	diag[key] = tcp.TimeWait
	rep, _ := tr.Report(stackID(80, 40000), epoch, epoch.Add(time.Hour))
	if got := rep.States(); got[len(got)-1] != tcp.TimeWait {
		t.Errorf("after the mini-socket moved: %v, want TIME-WAIT last", got)
	}
	if n := rep.Changes[len(rep.Changes)-1].Note; !strings.Contains(n, "no tracepoint says when") {
		t.Errorf("note %q", n)
	}
}

// TestSync: Sync returns once its marker has come out of the trace, and
// gives up with its context.
func TestSync(t *testing.T) {
	tr := newTestTracer(nil)
	tr.dir = t.TempDir()
	tr.done = make(chan struct{})
	go func() {
		// What the kernel does: the marker comes out of trace_pipe.
		for {
			if b, err := os.ReadFile(filepath.Join(tr.dir, "trace_marker")); err == nil && len(b) > 0 {
				tr.handle("  tunstack-1 [000] ..... 100.000001: tracing_mark_write: " + string(b))
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := tr.Sync(ctx); err == nil {
		t.Error("Sync without its marker returned nil")
	}
}
