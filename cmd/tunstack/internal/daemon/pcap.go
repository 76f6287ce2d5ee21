package daemon

import (
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/pcap"
)

// openCapture creates the --pcap file, or returns nil when there is none.
func openCapture(cfg Config) (*pcap.Writer, error) {
	if cfg.PCAP == "" {
		return nil, nil
	}
	w, err := pcap.Create(cfg.PCAP, pcap.Options{Interface: cfg.Dev})
	if err != nil {
		return nil, usage.Errorf("--pcap %s: %v", cfg.PCAP, err)
	}
	return w, nil
}

// capturer is w as a stack.Capturer: a nil interface, not a nil pointer in
// one, when there is no capture.
func capturer(w *pcap.Writer) stack.Capturer {
	if w == nil {
		return nil
	}
	return w
}

// capturedLink is link seen through w, for an engine that does not take a
// stack.Capturer; link itself when there is no capture.
func capturedLink(link stack.Link, w *pcap.Writer) stack.Link {
	if w == nil {
		return link
	}
	return pcap.Link(link, w)
}

// closeCapture writes out the rest of the --pcap file once the loop has
// stopped.
func (d *Daemon) closeCapture() {
	if d.capture == nil {
		return
	}
	if err := d.capture.Close(); err != nil {
		d.log.Error("pcap file incomplete", "file", d.cfg.PCAP, "err", err)
		return
	}
	if lost := d.capture.Lost(); lost > 0 {
		d.log.Warn("packets missing from the pcap file: the disk fell behind", "file", d.cfg.PCAP, "lost", lost)
	}
	d.log.Info("pcap file written", "file", d.cfg.PCAP)
}
