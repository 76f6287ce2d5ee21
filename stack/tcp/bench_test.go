package tcp

import (
	"sync/atomic"
	"testing"
	"time"
)

type discardOutput struct{ n int }

func (d *discardOutput) Output(c *Conn, seg *Segment, why Reason) { d.n++ }

// idleObserver is what a tracer costs when nobody listens: it checks an
// atomic subscriber count and returns.
type idleObserver struct{ subscribers atomic.Int32 }

func (o *idleObserver) StateChange(c *Conn, from, to State, cause *Segment, why Reason) {
	if o.subscribers.Load() > 0 {
		panic("no subscriber expected")
	}
}

func (o *idleObserver) Drop(c *Conn, seg *Segment, why Reason) {
	if o.subscribers.Load() > 0 {
		panic("no subscriber expected")
	}
}

// BenchmarkInputInOrderData is the engine's hot path: an in-order data
// segment arrives on an established connection, is queued, and is read.
// With no observer and with an idle one, the cost of tracing when nobody
// traces.
func BenchmarkInputInOrderData(b *testing.B) {
	b.Run("observer=none", func(b *testing.B) { benchmarkInputInOrderData(b, nil, nil) })
	b.Run("observer=idle", func(b *testing.B) { benchmarkInputInOrderData(b, &idleObserver{}, nil) })
	// With the buffers drawing on a budget, as in a stack.
	b.Run("budget=512MiB", func(b *testing.B) { benchmarkInputInOrderData(b, nil, NewBudget(512<<20)) })
}

func benchmarkInputInOrderData(b *testing.B, obs Observer, mem *Budget) {
	out := &discardOutput{}
	c := New(ID{Local: localAP, Remote: remoteAP}, testConfig(), NewEnv(out, obs, mem))
	now := epoch
	c.OpenPassive(now)
	syn := seg(FlagSYN, remoteISS, 0)
	syn.Options = Options{MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 1, HasWindowScale: true, WindowScale: 7}
	c.Input(now, &syn)
	ack := seg(FlagACK, remoteISS+1, localISS+1)
	ack.Options = Options{HasTimestamps: true, TSVal: 2, TSEcr: c.tsNow(now)}
	c.Input(now, &ack)
	if c.State() != Established {
		b.Fatal(c.State())
	}
	payload := make([]byte, 1448)
	buf := make([]byte, 64<<10)
	data := seg(FlagACK|FlagPSH, remoteISS+1, localISS+1)
	data.Payload = payload
	data.Options = Options{HasTimestamps: true, TSVal: 3}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Microsecond)
		data.Options.TSVal++
		data.Options.TSEcr = c.tsNow(now)
		c.Input(now, &data)
		c.Receive(now, buf)
		data.Seq = data.Seq.Add(uint32(len(payload)))
		if c.Deadline().Before(now) && !c.Deadline().IsZero() {
			c.Tick(now)
		}
	}
}

// BenchmarkSendAndACK is the sending hot path: queue a segment's worth,
// send it, take its ACK; without a budget and with one.
func BenchmarkSendAndACK(b *testing.B) {
	b.Run("budget=none", func(b *testing.B) { benchmarkSendAndACK(b, nil) })
	b.Run("budget=512MiB", func(b *testing.B) { benchmarkSendAndACK(b, NewBudget(512<<20)) })
}

func benchmarkSendAndACK(b *testing.B, mem *Budget) {
	out := &discardOutput{}
	c := New(ID{Local: localAP, Remote: remoteAP}, testConfig(), NewEnv(out, nil, mem))
	now := epoch
	c.OpenPassive(now)
	syn := seg(FlagSYN, remoteISS, 0)
	syn.Options = Options{MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 1}
	c.Input(now, &syn)
	ack := seg(FlagACK, remoteISS+1, localISS+1)
	ack.Options = Options{HasTimestamps: true, TSVal: 2, TSEcr: c.tsNow(now)}
	c.Input(now, &ack)
	payload := make([]byte, 988)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Microsecond)
		c.Send(now, payload)
		ack.Ack = c.snd.nxt
		ack.Options.TSVal++
		ack.Options.TSEcr = c.tsNow(now)
		c.Input(now, &ack)
	}
}
