package tests

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/rawpeer"
	"github.com/tunstack/tunstack/tests/testkit"
)

// captureKernelSide captures what crosses the daemon's device until the
// test ends. The peer takes the kernel's own address, so it only captures
// (the kernel's sockets answer the stack as usual).
func captureKernelSide(t *testing.T, d *daemon) *rawpeer.Peer {
	t.Helper()
	p, err := rawpeer.Open(d.ns, deviceName, netip.MustParseAddr(kernelIPv4), netip.MustParseAddr(stackIPv4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close the capture: %v", err)
		}
	})
	return p
}

// portSegments returns the TCP segments captured to or from the stack's
// port, in the direction dir.
func portSegments(p *rawpeer.Peer, port uint16, dir rawpeer.Direction) []rawpeer.Packet {
	var segs []rawpeer.Packet
	for _, pkt := range p.Captured() {
		if pkt.Dir != dir || !pkt.IsTCP() {
			continue
		}
		if dir == rawpeer.FromStack && pkt.Seg.SrcPort == port || dir == rawpeer.ToStack && pkt.Seg.DstPort == port {
			segs = append(segs, pkt)
		}
	}
	return segs
}

// waitCaptured waits until the capture has at least n octets of data from
// the stack's port (the capture reads behind the client), and returns the
// stack's segments on that port.
func waitCaptured(t *testing.T, p *rawpeer.Peer, port uint16, n int) []rawpeer.Packet {
	t.Helper()
	var segs []rawpeer.Packet
	testkit.WaitFor(t, 5*time.Second, fmt.Sprintf("%d octets from port %d in the capture", n, port), func() (bool, string) {
		segs = portSegments(p, port, rawpeer.FromStack)
		total := 0
		for _, size := range dataSizes(segs) {
			total += size
		}
		return total >= n, fmt.Sprintf("%d octets in %d packets", total, len(segs))
	})
	return segs
}

// dataSizes returns the payload sizes of the data segments among segs, a
// GSO super-packet counted as the segments it stands for.
func dataSizes(segs []rawpeer.Packet) []int {
	var sizes []int
	for _, pkt := range segs {
		if len(pkt.Seg.Payload) > 0 {
			sizes = append(sizes, pkt.SegmentSizes()...)
		}
	}
	return sizes
}

// ssNumber reads the numeric field name of an ss -i line, -1 if absent.
func ssNumber(line, name string) int {
	for _, f := range parseSSInfo(line) {
		if f.name == name {
			if n, err := strconv.Atoi(f.value); err == nil {
				return n
			}
		}
	}
	return -1
}

// checkMSSClamp runs an echo through port, where an mss fault clamps both
// SYNs to clamp, and checks it from the client's side: the kernel's SYN
// offered more than clamp and the stack's SYN-ACK offered at most clamp;
// the client's socket (ss -tni) sends segments of at most clamp (mss:) and
// has received none larger (rcvmss:, the largest segment it measured, its
// GSO size for a super-packet); and every data segment of the stack in the
// capture carries at most clamp octets.
func checkMSSClamp(t *testing.T, d *daemon, port uint16, clamp int) {
	t.Helper()
	capture := captureKernelSide(t, d)
	data := make([]byte, 32<<10) // within a pipe's buffer: the write cannot block
	rand.Read(data)
	stdin, feed := pipe(t)
	name, args := inNamespace(d.ns, "nc", "-N", stackIPv4, strconv.Itoa(int(port)))
	nc := startProcess(t, stdin, name, args...)
	if _, err := feed.Write(data); err != nil {
		t.Fatal(err)
	}
	var line string
	testkit.WaitFor(t, 20*time.Second, "the client's socket to have its echo", func() (bool, string) {
		line = runIn(t, d.ns, nil, "ss", "-Htin", "dst", fmt.Sprintf("%s:%d", stackIPv4, port)).stdout
		return ssNumber(line, "bytes_received") == len(data), line
	})
	mss, rcvMSS := ssNumber(line, "mss"), ssNumber(line, "rcvmss")
	if mss <= 0 || mss > clamp || rcvMSS <= 0 || rcvMSS > clamp {
		t.Errorf("mss %d: the client's socket has mss:%d rcvmss:%d, want both in 1..%d: %s", clamp, mss, rcvMSS, clamp, line)
	}
	feed.Close()
	if !nc.wait(10 * time.Second) {
		t.Errorf("nc -N did not end after its echo: %s", nc.output())
	}

	syns := portSegments(capture, port, rawpeer.ToStack)
	if len(syns) == 0 || !syns[0].Seg.Flags.Has(tcp.FlagSYN) || int(syns[0].Seg.Options.MSS) <= clamp {
		t.Fatalf("mss %d: want the client's SYN first, offering more than the clamp: %v", clamp, syns[:min(1, len(syns))])
	}
	out := waitCaptured(t, capture, port, len(data))
	if len(out) == 0 || !out[0].Seg.Flags.Has(tcp.FlagSYN) || out[0].Seg.Options.MSS == 0 || int(out[0].Seg.Options.MSS) > clamp {
		t.Fatalf("mss %d: want the stack's SYN-ACK first, offering at most the clamp: %v", clamp, out[:min(1, len(out))])
	}
	sizes := dataSizes(out)
	total, largest := 0, 0
	for _, n := range sizes {
		total += n
		largest = max(largest, n)
	}
	if total < len(data) || largest > clamp {
		t.Errorf("mss %d: the stack sent %d octets in %d segments, the largest %d; want %d octets, none over %d", clamp, total, len(sizes), largest, len(data), clamp)
	}
	t.Logf("mss %d: client SYN mss %d, SYN-ACK mss %d; client socket mss:%d rcvmss:%d; %d data segments from the stack, the largest %d octets",
		clamp, syns[0].Seg.Options.MSS, out[0].Seg.Options.MSS, mss, rcvMSS, len(sizes), largest)
}

// checkSlices runs an echo through port, where a slicer fault cuts the
// stack's data into slices of size ± vary, and reads the stack's data
// segments in a capture: none is over size+vary, and all but the last of
// each cut segment (which keeps what is left, and a segment of at most size
// is not cut) are at least size-vary, so the bulk of them are in bounds.
func checkSlices(t *testing.T, d *daemon, port uint16, size, vary int) {
	t.Helper()
	capture := captureKernelSide(t, d)
	const n = 64 << 10
	echoThrough(t, d, int(port), n, "30")
	sizes := dataSizes(waitCaptured(t, capture, port, n))
	total, inBounds, over, sum := 0, 0, 0, 0
	smallest, largest := n, 0
	for _, s := range sizes {
		total += s
		smallest, largest = min(smallest, s), max(largest, s)
		switch {
		case s > size+vary:
			over++
		case s >= size-vary:
			inBounds++
			sum += s
		}
	}
	t.Logf("slicer %d±%d: %d data segments from the stack, %d octets; %d in bounds (mean %.1f), %d over; sizes %d..%d",
		size, vary, len(sizes), total, inBounds, float64(sum)/float64(max(inBounds, 1)), over, smallest, largest)
	if total < n || over > 0 || inBounds < len(sizes)*3/4 {
		t.Errorf("slicer %d±%d: want %d octets, none in a segment over %d, three quarters of the segments of %d to %d octets: %v",
			size, vary, n, size+vary, size-vary, size+vary, sizes)
	}
}
