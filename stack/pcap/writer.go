package pcap

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tunstack/tunstack/stack"
)

// Options configure a Writer.
type Options struct {
	// Interface names the link in the file (if_name), for example the
	// TUN device's name. Default "tunstack".
	Interface string
	// QueueLen is how many packets may wait for the disk before new ones
	// are lost from the file. Default 8192.
	QueueLen int
}

const (
	defaultQueueLen = 8192
	// pooledSize is the capacity of the recycled packet copies: an
	// Ethernet-sized MTU fits; larger packets get a buffer of their own.
	pooledSize = 2048
	// fileBuffer is how much the Writer gathers before a write(2).
	fileBuffer = 256 << 10
)

// Writer writes captured packets to a pcapng stream. It is safe for one
// goroutine (the stack's loop) to call CapturePacket while another calls
// Close; packets captured after Close are not written.
type Writer struct {
	out  *bufio.Writer
	ng   *pcapgo.NgWriter
	file io.Closer // closed by Close; nil for NewWriter

	queue   chan record
	stop    chan struct{}
	done    chan struct{}
	closing atomic.Bool

	lost     atomic.Uint64 // packets that found the queue full
	captured atomic.Uint64 // packets queued
	started  time.Time
	err      error // the first write error; read after done

	closeOnce sync.Once
	closeErr  error
}

// record is one packet waiting for the disk.
type record struct {
	pkt    stack.CapturedPacket // Data is a copy: in *pooled when that is set
	pooled *[]byte
}

var pool = sync.Pool{New: func() any { b := make([]byte, pooledSize); return &b }}

// Create creates (or truncates) the file at path and returns a Writer
// that owns it.
func Create(path string, opts Options) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pcap: %w", err)
	}
	w, err := newWriter(f, f, opts)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return w, nil
}

// NewWriter writes the pcapng section and interface headers to out and
// returns a Writer that appends packets to it. Close does not close out.
func NewWriter(out io.Writer, opts Options) (*Writer, error) {
	return newWriter(out, nil, opts)
}

func newWriter(out io.Writer, file io.Closer, opts Options) (*Writer, error) {
	if opts.Interface == "" {
		opts.Interface = "tunstack"
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = defaultQueueLen
	}
	w := &Writer{
		out:     bufio.NewWriterSize(out, fileBuffer),
		file:    file,
		queue:   make(chan record, opts.QueueLen),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		started: time.Now(),
	}
	intf := pcapgo.NgInterface{
		Name:                opts.Interface,
		Description:         "IP packets crossing tunstack's link, both directions",
		LinkType:            layers.LinkTypeRaw,
		SnapLength:          0, // whole packets
		TimestampResolution: 9,
	}
	info := pcapgo.DefaultNgWriterOptions
	info.SectionInfo.Application = "tunstack"
	ng, err := pcapgo.NewNgWriterInterface(w.out, intf, info)
	if err == nil {
		err = w.flush(ng)
	}
	if err != nil {
		return nil, fmt.Errorf("pcap: writing the file header: %w", err)
	}
	w.ng = ng
	go w.run()
	return w, nil
}

// CapturePacket copies p into the queue; it never blocks. It implements
// stack.Capturer.
func (w *Writer) CapturePacket(p *stack.CapturedPacket) {
	if w.closing.Load() {
		return
	}
	r := record{pkt: *p}
	if len(p.Data) <= pooledSize {
		r.pooled = pool.Get().(*[]byte)
		r.pkt.Data = append((*r.pooled)[:0], p.Data...)
	} else {
		r.pkt.Data = append([]byte(nil), p.Data...)
	}
	select {
	case w.queue <- r:
		w.captured.Add(1)
	default:
		w.recycle(r)
		w.lost.Add(1)
	}
}

// Lost is how many packets found the queue full and are missing from the
// file.
func (w *Writer) Lost() uint64 { return w.lost.Load() }

// Close writes out every queued packet and the interface statistics,
// flushes, and closes the file Create opened. It returns the first error
// met while writing.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		w.closing.Store(true)
		close(w.stop)
		<-w.done
		w.closeErr = w.err
		if w.closeErr == nil {
			w.closeErr = w.writeStats()
		}
		if w.file != nil {
			if err := w.file.Close(); err != nil && w.closeErr == nil {
				w.closeErr = fmt.Errorf("pcap: %w", err)
			}
		}
	})
	return w.closeErr
}

// run writes queued packets until Close, flushing whenever the queue runs
// dry, so that the file on disk is never far behind.
func (w *Writer) run() {
	defer close(w.done)
	var reported uint64 // losses already told in an epb_dropcount
	for {
		select {
		case r := <-w.queue:
			w.write(r, &reported)
			if len(w.queue) == 0 {
				w.keep(w.flush(w.ng))
			}
		case <-w.stop:
			for {
				select {
				case r := <-w.queue:
					w.write(r, &reported)
				default:
					w.keep(w.flush(w.ng))
					return
				}
			}
		}
	}
}

func (w *Writer) write(r record, reported *uint64) {
	defer w.recycle(r)
	if w.err != nil {
		return
	}
	p := &r.pkt
	direction := pcapgo.NgEpbFlagDirectionInbound
	if p.Outbound {
		direction = pcapgo.NgEpbFlagDirectionOutbound
	}
	opts := pcapgo.NgPacketOptions{Flags: &pcapgo.NgEpbFlags{Direction: direction}}
	if c := p.Comment(); c != "" {
		opts.Comments = []string{c}
	}
	if lost := w.lost.Load(); lost > *reported {
		n := lost - *reported
		opts.DropCount, *reported = &n, lost
	}
	ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Data), Length: len(p.Data)}
	w.keep(w.ng.WritePacketWithOptions(ci, p.Data, opts))
}

// writeStats ends the file with the interface statistics: when the
// capture ran, how many packets it saw and how many it lost.
func (w *Writer) writeStats() error {
	lost := w.lost.Load()
	stats := pcapgo.NgInterfaceStatistics{
		LastUpdate:      time.Now(),
		StartTime:       w.started,
		EndTime:         time.Now(),
		PacketsReceived: w.captured.Load() + lost,
		PacketsDropped:  lost,
	}
	if err := w.ng.WriteInterfaceStats(0, stats); err != nil {
		return fmt.Errorf("pcap: %w", err)
	}
	if err := w.flush(w.ng); err != nil {
		return fmt.Errorf("pcap: %w", err)
	}
	return nil
}

// flush pushes the pcapng writer's buffer and then the file buffer.
func (w *Writer) flush(ng *pcapgo.NgWriter) error {
	if err := ng.Flush(); err != nil {
		return err
	}
	return w.out.Flush()
}

// keep remembers the first write error; after it nothing more is written.
func (w *Writer) keep(err error) {
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("pcap: %w", err)
	}
}

func (w *Writer) recycle(r record) {
	if r.pooled != nil {
		pool.Put(r.pooled)
	}
}
