package control

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

func TestNewConnStatusTimers(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	id := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}
	c := NewConnStatus(stack.ConnInfo{
		Status: tcp.Status{ID: id, State: tcp.LastAck, Backoff: 2, RetransmitAt: at.Add(time.Second),
			DelayedACKAt: at.Add(40 * time.Millisecond), SendQueue: 10, RecvQueue: 3, SendWindowScale: 7, RecvWindowScale: 9},
		States: []tcp.State{tcp.Listen, tcp.SynReceived, tcp.Established, tcp.CloseWait, tcp.LastAck},
		Since:  at.Add(-12 * time.Second), At: at, Unsent: 5, Unread: 4, AppClosed: true,
	})
	want := []TimerStatus{{Name: TimerDelayedACK, Left: "40ms"}, {Name: TimerRetransmit, Left: "1s", Backoff: 2}}
	if diff := cmp.Diff(want, c.Timers); diff != "" {
		t.Errorf("timers (-want +got):\n%s", diff)
	}
	if c.Age != "12s" || c.RecvQ != 7 || c.SendQ != 15 || c.SndWScale != 7 || c.RcvWScale != 9 {
		t.Errorf("age %q recv-q %d send-q %d wscale %d,%d; want 12s, 7, 15, 7,9", c.Age, c.RecvQ, c.SendQ, c.SndWScale, c.RcvWScale)
	}
}

func TestStatusCarriesTheTCPCounters(t *testing.T) {
	c := stack.Counters{
		Retransmits: map[string]uint64{stack.RetransmitData: 1},
		MIB:         stack.TCPMIB{PassiveOpens: 3, CurrEstab: 1},
		States:      map[tcp.State]int{tcp.Established: 1},
	}
	got := NewCounterStatus(c)
	if got.MIB.PassiveOpens != 3 || got.MIB.CurrEstab != 1 || got.States["ESTABLISHED"] != 1 || got.Retransmits["data"] != 1 {
		t.Errorf("status counters = %+v", got)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"mib":{"active_opens":0,"passive_opens":3,`, `"states":{"ESTABLISHED":1}`, `"retransmits":{"data":1}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("status JSON %s lacks %s", b, want)
		}
	}
}

func TestStatusCarriesTheFragmentCounters(t *testing.T) {
	c := stack.Counters{Fragments: stack.FragCounters{Fragments: 7, Reassembled: 2, Memory: 1500,
		Discarded: map[string]uint64{"frag-overlap": 1}}}
	b, err := json.Marshal(NewCounterStatus(c))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"fragments":{"fragments":7,"reassembled":2,`, `"discarded":{"frag-overlap":1}`, `"memory":1500}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("status JSON %s lacks %s", b, want)
		}
	}
}

func TestStatusCarriesTheMemoryCounters(t *testing.T) {
	b, err := json.Marshal(NewCounterStatus(stack.Counters{Memory: stack.MemoryCounters{
		BudgetLimit: 128 << 20, BudgetInUse: 1 << 20, BudgetPeak: 100 << 20,
		WindowClamps: 1, SendClamps: 2, AutotuneHeld: 3, WritersBlocked: 4,
		RecvBudgetDrops: 5, OOODrops: 6, ConnLimitDrops: 7, PeerConnLimitDrops: 8,
	}}))
	if err != nil {
		t.Fatal(err)
	}
	want := `"memory":{"budget":134217728,"in_use":1048576,"peak":104857600,"window_clamps":1,"send_clamps":2,"autotune_held":3,"writers_blocked":4,"recv_budget_drops":5,"ooo_drops":6,"conn_limit_drops":7,"peer_conn_limit_drops":8}`
	if !strings.Contains(string(b), want) {
		t.Errorf("status JSON %s lacks %s", b, want)
	}
}
