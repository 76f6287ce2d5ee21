package gateway

import (
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// flowsIdleFor makes n flows in a table, flow i idle for idle[i].
func flowsIdleFor(now time.Time, idle ...time.Duration) (*flowTable, []*flow) {
	var t flowTable
	var flows []*flow
	for _, d := range idle {
		f := &flow{}
		f.last.Store(now.Add(-d).UnixNano())
		t.add(f)
		flows = append(flows, f)
	}
	return &t, flows
}

func TestFlowTableEvictsTheIdlestScanned(t *testing.T) {
	now := time.Now()
	table, flows := flowsIdleFor(now, time.Second, 40*time.Second, 90*time.Second, time.Second)
	if got := table.idlest(now); got != flows[2] {
		t.Errorf("idlest: flow %v, want the one idle 90 s", got)
	}
	table.remove(flows[2])
	table.remove(flows[2]) // twice: a flow ending on its own after its eviction
	if table.len() != 3 {
		t.Errorf("%d flows after one was removed, want 3", table.len())
	}
}

func TestFlowTableKeepsFlowsIdleLessThanEvictIdle(t *testing.T) {
	now := time.Now()
	table, _ := flowsIdleFor(now, time.Second, evictIdle-time.Second)
	if got := table.idlest(now); got != nil {
		t.Errorf("idlest: a flow idle less than %v would be evicted", evictIdle)
	}
}

// TestFlowTableScanGivesASecondChance: busy flows at the front go to the
// back when scanned, so an idle flow behind more than evictScan of them
// is found by a later scan.
func TestFlowTableScanGivesASecondChance(t *testing.T) {
	now := time.Now()
	idle := make([]time.Duration, evictScan+1)
	idle[evictScan] = time.Hour // the last one, behind evictScan busy ones
	table, flows := flowsIdleFor(now, idle...)
	if got := table.idlest(now); got != nil {
		t.Fatalf("the first scan sees only busy flows, yet evicts one")
	}
	if got := table.idlest(now); got != flows[evictScan] {
		t.Errorf("the second scan: %v, want the idle flow", got)
	}
}

// TestUDPFullTableEvictsAnIdleFlowOrRefuses: with the table full, a new
// flow takes an idle flow's place (its sockets closed) and is counted;
// with none idle, it is refused and counted.
func TestUDPFullTableEvictsAnIdleFlowOrRefuses(t *testing.T) {
	srv := udpEcho(t)
	u := NewUDP(Config{}, HostDialer, slog.New(slog.DiscardHandler))
	u.maxFlows = 2
	defer func() { u.Close(); u.Wait() }()
	offer := func() (*net.UDPConn, bool) {
		client, relaySide := socketPair(t)
		accepted := false
		u.Offer(srv.LocalAddr().(*net.UDPAddr).AddrPort(), func() (net.Conn, error) { accepted = true; return relaySide, nil })
		if !accepted {
			relaySide.Close()
		}
		return client, accepted
	}
	_, ok1 := offer()
	_, ok2 := offer()
	if !ok1 || !ok2 {
		t.Fatal("a flow refused below the bound")
	}
	if _, ok := offer(); ok {
		t.Fatal("a flow beyond the bound taken with no flow idle")
	}
	// Make the first flow idle long enough to give way.
	u.mu.Lock()
	oldest := u.flows.order.Front().Value.(*flow)
	oldest.last.Store(time.Now().Add(-2 * evictIdle).UnixNano())
	u.mu.Unlock()
	client, ok := offer()
	if !ok {
		t.Fatal("a new flow refused although an idle one could give way")
	}
	c := u.Counters()
	if c.Active != 2 || c.FlowsEvicted != 1 || c.FlowsRefused != 1 || c.Flows != 3 {
		t.Errorf("counters %+v, want 2 active, 3 flows, 1 evicted, 1 refused", c)
	}
	// The new flow relays.
	client.Write([]byte("new"))
	client.SetReadDeadline(time.Now().Add(testkit.DefaultTimeout))
	buf := make([]byte, 100)
	if n, err := client.Read(buf); err != nil || string(buf[:n]) != "echo:new" {
		t.Errorf("the new flow's answer: %q, %v", buf[:n], err)
	}
	// The evicted flow's host socket is closed, so its goroutines end
	// now, not at its idle time-out.
	testkit.WaitFor(t, testkit.DefaultTimeout, "the evicted flow's host socket to close", func() (bool, string) {
		u.mu.Lock()
		host := oldest.host
		u.mu.Unlock()
		if host == nil {
			return false, "not dialled yet"
		}
		_, err := host.Write([]byte("x"))
		return err != nil, fmt.Sprintf("write: %v", err)
	})
}
