package tests

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// sendRawIPv4 sends pkt, a whole IPv4 packet, from inside namespace ns
// through a raw socket: the kernel fills in the IP header checksum and
// leaves the rest, a TCP checksum included, as it is.
func sendRawIPv4(t *testing.T, ns string, pkt []byte) {
	t.Helper()
	fd := -1
	err := testkit.InNamespace(ns, func() (err error) {
		fd, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
		return err
	})
	if err == nil {
		defer syscall.Close(fd)
		err = syscall.Sendto(fd, pkt, 0, &syscall.SockaddrInet4{Addr: [4]byte(pkt[16:20])})
	} else if fd >= 0 {
		syscall.Close(fd)
	}
	if err != nil {
		t.Fatalf("sending a raw packet in %s: %v", ns, err)
	}
}

// badChecksumSYN is a SYN from the kernel's address to the stack's port 80
// whose TCP checksum is wrong.
func badChecksumSYN(srcPort uint16) []byte {
	pkt := testkit.TCPPacket(netip.AddrPortFrom(netip.MustParseAddr(kernelIPv4), srcPort), netip.MustParseAddrPort(stackIPv4+":80"),
		testkit.Segment{Seq: 12345, Flags: testkit.SYN, Window: 1000})
	pkt[testkit.IPv4HeaderLen+16] ^= 0xff // the TCP checksum's first byte
	return pkt
}

// tsharkPacket is one row of the tshark fields this test asks for.
type tsharkPacket struct {
	inbound          bool // the direction flag says inbound (kernel to stack)
	src, dst         string
	srcPort, dstPort string
	flags            tcp.Flags
	comment          string
}

func (p tsharkPacket) String() string {
	dir := "out"
	if p.inbound {
		dir = "in"
	}
	return dir + " " + p.src + ":" + p.srcPort + " > " + p.dst + ":" + p.dstPort + " " + p.flags.String() + " " + strconv.Quote(p.comment)
}

// readPcap decodes file with tshark: the TCP packets, with their
// direction flag and comment.
func readPcap(t *testing.T, file string) []tsharkPacket {
	t.Helper()
	// frame.comment is the packet comment's field from Wireshark 3.6 on.
	r := run(t, nil, "tshark", "-r", file, "-Y", "tcp", "-T", "fields", "-E", "separator=|",
		"-e", "frame.packet_flags_direction", "-e", "ip.src", "-e", "ip.dst",
		"-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.flags", "-e", "frame.comment")
	if r.err != nil {
		t.Fatalf("tshark -r %s: %v", file, r)
	}
	var pkts []tsharkPacket
	for line := range strings.Lines(r.stdout) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "|")
		if len(f) != 7 {
			t.Fatalf("tshark line %q: want 7 fields", line)
		}
		flags, err := strconv.ParseUint(strings.TrimPrefix(f[5], "0x"), 16, 16)
		if err != nil {
			t.Fatalf("tshark line %q: flags: %v", line, err)
		}
		dir, err := strconv.ParseUint(strings.TrimPrefix(f[0], "0x"), 16, 32)
		if err != nil {
			t.Fatalf("tshark line %q: direction: %v", line, err)
		}
		pkts = append(pkts, tsharkPacket{inbound: dir&3 == 1, src: f[1], dst: f[2], srcPort: f[3], dstPort: f[4],
			flags: tcp.Flags(flags), comment: f[6]})
	}
	return pkts
}

// TestPcapRecordsWhatCrossedTheDevice runs curl against a daemon writing a
// pcap, sends it a segment with a bad checksum, stops it with SIGTERM, and
// reads the file with tshark: the handshake and teardown of curl's
// connection, every packet's direction, the stack's reasons in comments,
// and as many TCP segments each way as the stack counted.
func TestPcapRecordsWhatCrossedTheDevice(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.RequireCommand(t, "tshark", "tshark")
	t.Parallel()
	file := filepath.Join(testkit.ShortTempDir(t), "cap.pcapng")
	d := startDaemon(t, "--pcap", file)

	r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code} %{local_port}", "http://"+stackIPv4+"/")
	fields := strings.Fields(r.stdout)
	if r.err != nil || len(fields) != 2 || fields[0] != "200" {
		t.Fatalf("curl: %v", r)
	}
	curlPort := fields[1]
	const badPort = 4242
	sendRawIPv4(t, d.ns, badChecksumSYN(badPort))
	var counted counterReply
	testkit.WaitFor(t, 10*time.Second, "the bad segment counted and curl's connection gone", func() (bool, string) {
		counted = d.counters(t)
		return counted.Drops["tcp-bad-checksum"] == 1 && counted.States["LAST-ACK"] == 0 && counted.MIB.CurrEstab == 0,
			fmt.Sprintf("%+v", counted)
	})

	d.cmd.Process.Signal(syscall.SIGTERM)
	if !d.wait(stopTimeout) || d.exitCode() != 0 {
		t.Fatalf("daemon did not exit cleanly after SIGTERM (exit %d)\n%s", d.exitCode(), d.output())
	}
	pkts := readPcap(t, file)

	// curl's connection, in the order it crossed the device.
	var conn []tsharkPacket
	var in, out int
	for _, p := range pkts {
		if p.inbound != (p.src == kernelIPv4) {
			t.Errorf("direction flag disagrees with the addresses: %v", p)
		}
		if p.inbound {
			in++
		} else {
			out++
		}
		if p.srcPort == curlPort || p.dstPort == curlPort {
			conn = append(conn, p)
		}
	}
	control := tcp.FlagSYN | tcp.FlagACK | tcp.FlagFIN | tcp.FlagRST
	is := func(i int, inbound bool, flags tcp.Flags) bool {
		return i < len(conn) && conn[i].inbound == inbound && conn[i].flags&control == flags
	}
	if !is(0, true, tcp.FlagSYN) || !is(1, false, tcp.FlagSYN|tcp.FlagACK) || !is(2, true, tcp.FlagACK) {
		t.Errorf("curl's connection does not start with SYN in, SYN-ACK out, ACK in: %v", conn)
	}
	var finIn, finOut bool
	for _, p := range conn {
		finIn = finIn || p.inbound && p.flags.Has(tcp.FlagFIN)
		finOut = finOut || !p.inbound && p.flags.Has(tcp.FlagFIN)
	}
	if last := len(conn) - 1; !finIn || !finOut || !is(last, true, tcp.FlagACK) && !is(last, false, tcp.FlagACK) {
		t.Errorf("curl's connection does not end with a FIN each way and an ACK: %v", conn)
	}

	// The bad segment, and the stack's reasons on what it sent.
	var badSeen, synAckReason bool
	for _, p := range pkts {
		if p.srcPort == strconv.Itoa(badPort) {
			badSeen = true
			if !p.inbound || p.comment != "drop: tcp-bad-checksum" {
				t.Errorf("the bad segment: %v, want inbound with comment %q", p, "drop: tcp-bad-checksum")
			}
		}
		if !p.inbound && p.dstPort == curlPort && p.flags == tcp.FlagSYN|tcp.FlagACK {
			synAckReason = strings.HasPrefix(p.comment, "sent: listen-syn: ")
		}
	}
	if !badSeen {
		t.Errorf("the bad segment is not in the capture:\n%v", pkts)
	}
	if !synAckReason {
		t.Errorf("the SYN-ACK does not say why it was sent:\n%v", pkts)
	}

	// tshark sees the segments the stack counted (InSegs counts the bad one too).
	if uint64(in) != counted.MIB.InSegs || uint64(out) != counted.SegmentsOut {
		t.Errorf("tshark decoded %d TCP segments in and %d out; the stack counted %d in (tcpInSegs) and %d out", in, out, counted.MIB.InSegs, counted.SegmentsOut)
	}
	if t.Failed() {
		var b strings.Builder
		for _, p := range pkts {
			b.WriteString("\n  " + p.String())
		}
		t.Logf("tshark:%s", b.String())
	}
}
