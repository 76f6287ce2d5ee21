package pcap

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// ipv4 is an IPv4 header with protocol 6 and no payload: the writer does
// not look inside packets.
var ipv4 = testkit.IPPacket(netip.MustParseAddr("10.77.0.1"), netip.MustParseAddr("10.77.0.2"), testkit.ProtoTCP, nil)

// readBack is one packet as a pcapng reader finds it.
type readBack struct {
	Data      []byte
	Time      time.Time
	Direction pcapgo.NgEpbFlag
	Comments  []string
	DropCount uint64
}

func readAll(t *testing.T, r io.Reader) (*pcapgo.NgReader, []readBack) {
	t.Helper()
	ng, err := pcapgo.NewNgReader(r, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("NewNgReader: %v", err)
	}
	var out []readBack
	for {
		data, ci, opts, err := ng.ReadPacketDataWithOptions()
		if errors.Is(err, io.EOF) {
			return ng, out
		}
		if err != nil {
			t.Fatalf("reading packet %d: %v", len(out), err)
		}
		p := readBack{Data: bytes.Clone(data), Time: ci.Timestamp, Comments: opts.Comments}
		if opts.Flags != nil {
			p.Direction = opts.Flags.Direction
		}
		if opts.DropCount != nil {
			p.DropCount = *opts.DropCount
		}
		out = append(out, p)
	}
}

func TestWriterRecordsDirectionTimeAndComments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cap.pcapng")
	w, err := Create(path, Options{Interface: "tunstack0"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 6789, time.UTC)
	big := bytes.Repeat([]byte{0x60}, 9000) // past the pooled buffers
	in := []stack.CapturedPacket{
		{Time: t0, Data: ipv4},
		{Time: t0.Add(time.Millisecond), Data: ipv4, Dropped: true, DropDetail: "tcp-bad-checksum"},
		{Time: t0.Add(2 * time.Millisecond), Data: ipv4, Outbound: true, Sent: tcp.ReasonClosedRST},
		{Time: t0.Add(3 * time.Millisecond), Data: big, Outbound: true},
	}
	for i := range in {
		w.CapturePacket(&in[i])
	}
	in[0].Data[0] = 0xff // the writer copied: changing the caller's buffer changes nothing
	defer func() { in[0].Data[0] = 0x45 }()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ng, got := readAll(t, f)
	if ng.LinkType() != layers.LinkTypeRaw {
		t.Errorf("link type %v, want raw IP", ng.LinkType())
	}
	if intf, err := ng.Interface(0); err != nil || intf.Name != "tunstack0" {
		t.Errorf("interface 0 = %+v, %v; want the name tunstack0", intf, err)
	}
	header := append([]byte{0x45}, ipv4[1:]...)
	want := []readBack{
		{Data: header, Time: t0, Direction: pcapgo.NgEpbFlagDirectionInbound},
		{Data: header, Time: t0.Add(time.Millisecond), Direction: pcapgo.NgEpbFlagDirectionInbound,
			Comments: []string{"drop: tcp-bad-checksum"}},
		{Data: header, Time: t0.Add(2 * time.Millisecond), Direction: pcapgo.NgEpbFlagDirectionOutbound,
			Comments: []string{"sent: closed-rst: segment to CLOSED: answer with RST [rfc9293:3.10.7.1]"}},
		{Data: big, Time: t0.Add(3 * time.Millisecond), Direction: pcapgo.NgEpbFlagDirectionOutbound},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	// gopacket decodes the raw link type as IPv4.
	pkt := gopacket.NewPacket(got[0].Data, layers.LinkTypeRaw, gopacket.Default)
	if pkt.Layer(layers.LayerTypeIPv4) == nil {
		t.Errorf("packet 0 does not decode as IPv4: %v", pkt)
	}
}

// stalledWriter blocks every Write until release is closed; entered
// is closed when the first Write begins.
type stalledWriter struct {
	entered, release chan struct{}
	once             sync.Once
	buf              bytes.Buffer
}

func (s *stalledWriter) Write(p []byte) (int, error) {
	s.once.Do(func() { close(s.entered) })
	<-s.release
	return s.buf.Write(p)
}

// TestWriterNeverBlocksTheCaller stalls the disk while the writer holds
// one packet: four more fit in the queue, the rest are lost and counted,
// and the next packets written say how many in their epb_dropcount.
func TestWriterNeverBlocksTheCaller(t *testing.T) {
	var header bytes.Buffer
	disk := &stalledWriter{entered: make(chan struct{}), release: make(chan struct{})}
	w, err := NewWriter(&header, Options{QueueLen: 4})
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	w.out.Reset(disk) // the header went out; from now on the disk stalls
	w.CapturePacket(&stack.CapturedPacket{Time: time.Unix(0, 0), Data: ipv4})
	<-disk.entered

	const more = 50
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range more {
			w.CapturePacket(&stack.CapturedPacket{Time: time.Unix(int64(i+1), 0), Data: ipv4})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("CapturePacket blocked on a stalled disk")
	}
	if lost := w.Lost(); lost != more-4 {
		t.Errorf("Lost() = %d, want %d", lost, more-4)
	}
	close(disk.release)
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	w.CapturePacket(&stack.CapturedPacket{Data: ipv4}) // after Close: ignored

	_, got := readAll(t, io.MultiReader(&header, &disk.buf))
	if len(got) != 5 {
		t.Fatalf("read %d packets, want 5", len(got))
	}
	var reported uint64
	for _, p := range got {
		reported += p.DropCount
	}
	if reported != more-4 {
		t.Errorf("epb_dropcount adds up to %d, want %d", reported, more-4)
	}
}

func TestCreateFailsOnABadPath(t *testing.T) {
	_, err := Create(filepath.Join(t.TempDir(), "missing", "cap.pcapng"), Options{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Create in a missing directory: %v, want ErrNotExist", err)
	}
}

// BenchmarkCapturePacket is what the stack's loop pays per packet with
// --pcap: a copy and a channel send; the writing happens elsewhere.
func BenchmarkCapturePacket(b *testing.B) {
	w, err := NewWriter(io.Discard, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	pkt := &stack.CapturedPacket{Time: time.Now(), Data: make([]byte, 1500), Outbound: true, Sent: tcp.ReasonUserSend}
	b.SetBytes(int64(len(pkt.Data)))
	b.ReportAllocs()
	for b.Loop() {
		w.CapturePacket(pkt)
	}
	b.ReportMetric(float64(w.Lost()), "lost")
}
