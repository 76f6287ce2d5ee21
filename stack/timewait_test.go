package stack

import (
	"context"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// stackClosesFirst runs a connection to where the stack holds TIME-WAIT:
// the stack sends its FIN first and the peer answers with its own.
func stackClosesFirst(t *testing.T, msl time.Duration) (*running, *scriptedPeer) {
	t.Helper()
	opts := stackOptions(stackAddr4, stackAddr6)
	opts.TCP.MSL = msl
	s, link := startScripted(t, opts)
	ln, err := s.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close() // the stack closes first
		}
	}()
	peer := newScriptedPeer(t, link)
	peer.handshake()
	fin := peer.expect(true)
	if !fin.Flags.Has(tcp.FlagFIN) {
		t.Fatalf("got %v, want the stack's FIN", &fin)
	}
	peer.send(tcp.FlagACK|tcp.FlagFIN, "")
	if ack := peer.expect(false); ack.Ack != 1002 {
		t.Fatalf("got %v, want the ACK of our FIN", &ack)
	}
	return s, peer
}

func timeWaitEntries(s *running) []ConnInfo {
	var tw []ConnInfo
	for _, info := range s.Connections() {
		if info.Status.State == tcp.TimeWait {
			tw = append(tw, info)
		}
	}
	return tw
}

func TestTimeWaitShrinksToRecordAndExpires(t *testing.T) {
	s, _ := stackClosesFirst(t, 100*time.Millisecond)
	testkit.Eventually(t, "a TIME-WAIT record", func() bool { return len(timeWaitEntries(s)) == 1 })
	var records, conns int
	if err := s.call(context.Background(), func() { records, conns = s.timeWait.len(), len(s.conns) }); err != nil {
		t.Fatal(err)
	}
	if records != 1 || conns != 0 {
		t.Fatalf("%d records and %d connections, want the connection shrunk to 1 record", records, conns)
	}
	if got := s.Counters().States[tcp.TimeWait]; got != 1 {
		t.Fatalf("state census counts %d in TIME-WAIT, want 1", got)
	}
	testkit.Eventually(t, "2MSL to end", func() bool { return len(timeWaitEntries(s)) == 0 })
}

func TestTimeWaitRecordReACKsFIN(t *testing.T) {
	s, peer := stackClosesFirst(t, time.Minute)
	testkit.Eventually(t, "a TIME-WAIT record", func() bool { return len(timeWaitEntries(s)) == 1 })
	peer.seq-- // the FIN again
	peer.send(tcp.FlagACK|tcp.FlagFIN, "")
	if ack := peer.expect(false); ack.Flags != tcp.FlagACK || ack.Ack != 1002 {
		t.Fatalf("got %v, want the FIN acknowledged again", &ack)
	}
}

func TestTimeWaitRecordReopensOnNewSYN(t *testing.T) {
	s, peer := stackClosesFirst(t, time.Minute)
	testkit.Eventually(t, "a TIME-WAIT record", func() bool { return len(timeWaitEntries(s)) == 1 })
	peer.seq += 100000
	peer.ack = 0
	peer.send(tcp.FlagSYN, "")
	if sa := peer.expect(false); sa.Flags != tcp.FlagSYN|tcp.FlagACK {
		t.Fatalf("got %v, want a SYN-ACK for the new connection", &sa)
	}
	testkit.Eventually(t, "the record gone", func() bool { return len(timeWaitEntries(s)) == 0 })
}

func TestTimeWaitTableExpiresInOrderWithRestarts(t *testing.T) {
	var tab timeWaitTable
	start := time.Unix(1_700_000_000, 0)
	ids := make([]tcp.ID, 5)
	for i := range ids {
		ids[i] = tcp.ID{Local: netip.AddrPortFrom(stackAddr4, 80), Remote: netip.AddrPortFrom(peerAddr4, uint16(40000+i))}
	}
	// Records entered TIME-WAIT one second apart, each for 60 s; the first
	// one's 2MSL restarted 30 s in.
	for i, id := range ids {
		tab.add(id, recordExpiring(t, start.Add(time.Duration(i)*time.Second+60*time.Second)))
	}
	e, _ := tab.get(ids[0])
	e.rec = recordExpiring(t, start.Add(90*time.Second)).rec
	e.restarted = true
	tab.set(ids[0], e)

	if got := tab.next(); !got.Equal(start.Add(61 * time.Second)) {
		t.Fatalf("next %v, want the second record's expiry", got.Sub(start))
	}
	var gone []tcp.ID
	tab.expire(start.Add(63*time.Second), func(id tcp.ID) { gone = append(gone, id) })
	if len(gone) != 3 || gone[0] != ids[1] {
		t.Fatalf("expired %v, want records 1, 2 and 3", gone)
	}
	tab.expire(start.Add(70*time.Second), func(id tcp.ID) { gone = append(gone, id) })
	if len(gone) != 4 || tab.len() != 1 {
		t.Fatalf("after 70 s: %d expired, %d left", len(gone), tab.len())
	}
	tab.expire(start.Add(90*time.Second), func(id tcp.ID) { gone = append(gone, id) })
	if tab.len() != 0 || gone[4] != ids[0] {
		t.Fatalf("the restarted record did not expire at 90 s")
	}
	// Far-future records only: expire returns at once.
	tab.add(ids[1], recordExpiring(t, start.Add(time.Hour)))
	tab.expire(start, func(tcp.ID) { t.Fatal("expired early") })
}

// recordExpiring is a TIME-WAIT entry whose 2MSL ends at end.
func recordExpiring(t *testing.T, end time.Time) timeWaitEntry {
	t.Helper()
	c := tcp.New(tcp.ID{Local: netip.AddrPortFrom(stackAddr4, 80), Remote: netip.AddrPortFrom(peerAddr4, 40000)},
		&tcp.Config{MSL: time.Minute / 2, ISN: func(tcp.ID, time.Time) tcp.Seq { return 1 }}, tcp.NewEnv(discardOut{}, nil, nil))
	now := end.Add(-time.Minute)
	c.OpenActive(now)
	c.Input(now, &tcp.Segment{Flags: tcp.FlagSYN | tcp.FlagACK, Seq: 100, Ack: 2, Window: 1000})
	c.CloseSend(now)
	c.Input(now, &tcp.Segment{Flags: tcp.FlagFIN | tcp.FlagACK, Seq: 101, Ack: 3, Window: 1000})
	rec, ok := c.TimeWaitRecord()
	if !ok {
		t.Fatalf("connection in %v", c.State())
	}
	return timeWaitEntry{rec: rec}
}

type discardOut struct{}

func (discardOut) Output(*tcp.Conn, *tcp.Segment, tcp.Reason) {}

func TestTimeWaitKeyRoundTrip(t *testing.T) {
	for _, id := range []tcp.ID{
		{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")},
		{Local: netip.MustParseAddrPort("[fd00:77::2]:80"), Remote: netip.MustParseAddrPort("[fd00:77::1]:1")},
	} {
		if got := keyOf(id).id(); got != id {
			t.Errorf("key of %v gives back %v", id, got)
		}
	}
	if size := unsafe.Sizeof(timeWaitKey{}); size > 36 {
		t.Errorf("timeWaitKey is %d bytes", size)
	}
}
