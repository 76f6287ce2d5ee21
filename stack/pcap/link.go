package pcap

import (
	"time"

	"github.com/tunstack/tunstack/stack"
)

// Link wraps link so that w sees every packet read from it or written to
// it, for an engine that does not take stack.Options.Capture (gVisor's).
// The packets carry no reasons: only the stack's own engine knows them.
func Link(link stack.Link, w *Writer) stack.Link {
	return &capturingLink{Link: link, w: w}
}

type capturingLink struct {
	stack.Link
	w *Writer
}

func (l *capturingLink) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	n, err := l.Link.Read(bufs, sizes, offset)
	now := time.Now()
	for i := range n {
		l.w.CapturePacket(&stack.CapturedPacket{Time: now, Data: bufs[i][offset : offset+sizes[i]]})
	}
	return n, err
}

// Write captures before writing: the link may coalesce packets in place.
func (l *capturingLink) Write(bufs [][]byte, offset int) (int, error) {
	now := time.Now()
	for _, b := range bufs {
		l.w.CapturePacket(&stack.CapturedPacket{Time: now, Outbound: true, Data: b[offset:]})
	}
	return l.Link.Write(bufs, offset)
}
