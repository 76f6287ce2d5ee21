package tundev

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/tunstack/tunstack/tests/testkit"
)

// The project's default addressing, kernel side and stack side.
var (
	kernelAddr4 = netip.MustParsePrefix("10.77.0.1/24")
	kernelAddr6 = netip.MustParsePrefix("fd00:77::1/64")
	stackAddr4  = netip.MustParseAddr("10.77.0.2")
	stackAddr6  = netip.MustParseAddr("fd00:77::2")
	defaultCfg  = Config{Addrs: []netip.Prefix{kernelAddr4, kernelAddr6}}
)

func TestOpenConfiguresLink(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		wantName string
		wantMTU  int
		wantTxQ  int
	}{
		{"defaults", defaultCfg, DefaultName, DefaultMTU, DefaultTxQueueLen},
		{"jumbo", Config{Name: "tsjumbo", MTU: 9000, Addrs: defaultCfg.Addrs, TxQueueLen: 100}, "tsjumbo", 9000, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := openTestDevice(t, tt.cfg)
			if dev.Name() != tt.wantName || dev.NetNS() == "" {
				t.Errorf("Name, NetNS = %q, %q; want %q and the test's namespace", dev.Name(), dev.NetNS(), tt.wantName)
			}
			if mtu, err := dev.MTU(); mtu != tt.wantMTU || err != nil {
				t.Errorf("MTU() = %d, %v; want %d, nil", mtu, err, tt.wantMTU)
			}
			if dev.BatchSize() < 1 {
				t.Errorf("BatchSize() = %d", dev.BatchSize())
			}
			t.Logf("batch size %d", dev.BatchSize())

			h := netlinkIn(t, dev.NetNS())
			link, err := h.LinkByName(tt.wantName)
			if err != nil {
				t.Fatalf("LinkByName: %v", err)
			}
			attrs := link.Attrs()
			if attrs.MTU != tt.wantMTU || attrs.Flags&net.FlagUp == 0 || link.Type() != "tuntap" || attrs.TxQLen != tt.wantTxQ {
				t.Errorf("link %s: type %s, MTU %d, txqueuelen %d, flags %v; want tuntap, %d, %d, up",
					attrs.Name, link.Type(), attrs.MTU, attrs.TxQLen, attrs.Flags, tt.wantMTU, tt.wantTxQ)
			}
			checkAddrs(t, h, link, tt.cfg.Addrs)

			lo, err := h.LinkByName("lo")
			if err != nil || lo.Attrs().Flags&net.FlagUp == 0 {
				t.Errorf("lo in a namespace Open created: %v, flags %v; want up", err, lo.Attrs().Flags)
			}
		})
	}
}

// checkAddrs checks that link has exactly want, the IPv6 ones usable at
// once (no duplicate address detection, not tentative).
func checkAddrs(t *testing.T, h *netlink.Handle, link netlink.Link, want []netip.Prefix) {
	t.Helper()
	addrs, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatalf("AddrList: %v", err)
	}
	got := map[netip.Prefix]int{}
	for _, a := range addrs {
		ip, _ := netip.AddrFromSlice(a.IP)
		ones, _ := a.Mask.Size()
		p := netip.PrefixFrom(ip.Unmap(), ones)
		if ip.IsLinkLocalUnicast() {
			continue // the kernel's own fe80:: address
		}
		got[p] = a.Flags
	}
	if len(got) != len(want) {
		t.Errorf("addresses %v, want %v", got, want)
	}
	for _, p := range want {
		flags, ok := got[p]
		switch {
		case !ok:
			t.Errorf("address %v missing; have %v", p, got)
		case p.Addr().Is6() && (flags&unix.IFA_F_NODAD == 0 || flags&unix.IFA_F_TENTATIVE != 0):
			t.Errorf("address %v flags %#x; want nodad and not tentative", p, flags)
		}
	}
}

// readPackets reads from dev into the returned channel until dev is
// closed; the test's cleanup closes dev and waits for the reader.
func readPackets(t *testing.T, dev *Device) <-chan []byte {
	t.Helper()
	out := make(chan []byte, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		bufs, sizes := newBatch(dev.BatchSize(), testOffset+65535)
		for {
			n, err := dev.Read(bufs, sizes, testOffset)
			if err != nil {
				return
			}
			for _, pkt := range packets(bufs, sizes, testOffset, n) {
				select {
				case out <- bytes.Clone(pkt):
				default: // nobody is looking for more
				}
			}
		}
	}()
	t.Cleanup(func() {
		dev.Close()
		<-done
	})
	return out
}

func TestKernelPacketReachesRead(t *testing.T) {
	tests := []struct {
		name string
		dst  netip.AddrPort
	}{
		{"IPv4", netip.AddrPortFrom(stackAddr4, 9)},
		{"IPv6", netip.AddrPortFrom(stackAddr6, 9)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := openTestDevice(t, defaultCfg)
			packetsRead := readPackets(t, dev)
			payload := fmt.Appendf(nil, "hello over %s from %s", tt.name, t.Name())

			inNetNS(t, dev.NetNS(), func() error {
				conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(tt.dst))
				if err != nil {
					return err
				}
				defer conn.Close()
				_, err = conn.Write(payload)
				return err
			})

			// The kernel may send other packets first (IPv6 router
			// solicitations, MLD reports): look for ours.
			timeout := time.After(5 * time.Second)
			for {
				select {
				case pkt := <-packetsRead:
					if testkit.Matches(pkt, testkit.DstAddr(tt.dst.Addr()), testkit.UDP(testkit.DstPort(tt.dst.Port()), testkit.UDPPayload(payload))) {
						return
					}
				case <-timeout:
					t.Fatalf("no UDP packet to %v read within 5s", tt.dst)
				}
			}
		})
	}
}

func TestWriteReachesKernel(t *testing.T) {
	tests := []struct {
		name   string
		kernel netip.Addr
		stack  netip.AddrPort
	}{
		{"IPv4", kernelAddr4.Addr(), netip.AddrPortFrom(stackAddr4, 4000)},
		{"IPv6", kernelAddr6.Addr(), netip.AddrPortFrom(stackAddr6, 4000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := openTestDevice(t, defaultCfg)
			var conn *net.UDPConn
			inNetNS(t, dev.NetNS(), func() error {
				var err error
				conn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(tt.kernel, 0)))
				return err
			})
			defer conn.Close()
			kernel := conn.LocalAddr().(*net.UDPAddr).AddrPort()

			payload := fmt.Appendf(nil, "hello from the stack over %s", tt.name)
			buf := append(make([]byte, testOffset), testkit.UDPPacket(tt.stack, kernel, payload)...)
			if n, err := dev.Write([][]byte{buf}, testOffset); n != 1 || err != nil {
				t.Fatalf("Write = %d, %v; want 1, nil", n, err)
			}

			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			got := make([]byte, 1500)
			n, from, err := conn.ReadFromUDPAddrPort(got)
			if err != nil {
				t.Fatalf("the kernel received nothing: %v", err)
			}
			if from.Addr().Unmap() != tt.stack.Addr() || from.Port() != tt.stack.Port() || !bytes.Equal(got[:n], payload) {
				t.Errorf("the kernel received %q from %v; want %q from %v", got[:n], from, payload, tt.stack)
			}
		})
	}
}

func TestWriteNeedsHeadroom(t *testing.T) {
	dev := openTestDevice(t, defaultCfg)
	buf := make([]byte, 100)
	if _, err := dev.Write([][]byte{buf}, MinOffset-1); !errors.Is(err, ErrOffsetTooSmall) {
		t.Errorf("Write at offset %d: err = %v, want ErrOffsetTooSmall", MinOffset-1, err)
	}
}

func TestCloseRemovesDeviceAndNamespace(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	fds := openFDs(t)
	dev := openTestDevice(t, defaultCfg)
	h := netlinkIn(t, dev.NetNS()) // keeps the namespace alive to look in

	if err := dev.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if linkExists(t, h, dev.Name()) {
		t.Errorf("link %s still there after Close", dev.Name())
	}
	if testkit.NamespaceExists(dev.NetNS()) {
		t.Errorf("namespace %s still there after Close", dev.NetNS())
	}
	if err := dev.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if _, err := dev.MTU(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("MTU after Close: err = %v, want os.ErrClosed", err)
	}
	bufs, sizes := newBatch(1, testOffset+65535)
	if _, err := dev.Read(bufs, sizes, testOffset); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Read after Close: err = %v, want os.ErrClosed", err)
	}

	h.Close()
	testkit.Eventually(t, "back to the goroutines before Open", func() bool { return runtime.NumGoroutine() <= goroutines })
	testkit.Eventually(t, "back to the descriptors before Open", func() bool { return openFDs(t) <= fds })
}

func TestCloseKeepsExistingNamespace(t *testing.T) {
	testkit.RequireRoot(t)
	nsName := createTestNetNS(t)
	h := netlinkIn(t, nsName)
	dev, err := Open(Config{NetNS: nsName, Addrs: defaultCfg.Addrs})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if lo, _ := h.LinkByName("lo"); lo.Attrs().Flags&net.FlagUp != 0 {
		t.Errorf("Open brought up lo in a namespace it did not create")
	}
	if err := dev.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if linkExists(t, h, DefaultName) {
		t.Errorf("link %s still there after Close", DefaultName)
	}
	if !testkit.NamespaceExists(nsName) {
		t.Errorf("Close removed namespace %s, which Open did not create", nsName)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	dev := openTestDevice(t, defaultCfg)
	done := make(chan error, 1)
	go func() {
		bufs, sizes := newBatch(dev.BatchSize(), testOffset+65535)
		for {
			// Skip whatever the kernel sends on its own (IPv6
			// router solicitations) until Close ends the Read.
			if _, err := dev.Read(bufs, sizes, testOffset); err != nil {
				done <- err
				return
			}
		}
	}()
	dev.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Read: err = %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked 5s after Close")
	}
}

func TestOpenNameInUse(t *testing.T) {
	tests := []struct {
		name     string
		occupy   func(t *testing.T, nsName string)
		wantText string
	}{
		{"our own TUN", func(t *testing.T, nsName string) {
			dev, err := Open(Config{NetNS: nsName})
			if err != nil {
				t.Fatalf("first Open: %v", err)
			}
			t.Cleanup(func() { dev.Close() })
		}, "a tuntap link of that name exists"},
		{"a bridge", func(t *testing.T, nsName string) {
			bridge := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: DefaultName}}
			if err := netlinkIn(t, nsName).LinkAdd(bridge); err != nil {
				t.Fatalf("adding a bridge: %v", err)
			}
		}, "a bridge link of that name exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testkit.RequireRoot(t)
			nsName := createTestNetNS(t)
			tt.occupy(t, nsName)
			h := netlinkIn(t, nsName)
			fds := openFDs(t)

			dev, err := Open(Config{NetNS: nsName})
			if err == nil {
				dev.Close()
				t.Fatal("second Open succeeded")
			}
			if !errors.Is(err, ErrDeviceBusy) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Open: err = %v, want ErrDeviceBusy saying %q", err, tt.wantText)
			}
			if !linkExists(t, h, DefaultName) {
				t.Error("the failed Open removed the link that held the name")
			}
			testkit.Eventually(t, "back to the descriptors before Open", func() bool { return openFDs(t) <= fds })
		})
	}
}

// TestOpenFailureLeavesNothing makes Open fail after it has created the
// namespace and the device (the kernel refuses the same address twice) and
// checks that it removed both and closed every descriptor.
func TestOpenFailureLeavesNothing(t *testing.T) {
	testkit.RequireRoot(t)
	dup := []netip.Prefix{kernelAddr4, kernelAddr4}

	t.Run("namespace Open creates", func(t *testing.T) {
		fds := openFDs(t)
		nsName := testNetNSName(t)
		if dev, err := Open(Config{NetNS: nsName, Addrs: dup}); err == nil {
			dev.Close()
			t.Fatal("Open with a duplicate address succeeded")
		}
		if testkit.NamespaceExists(nsName) {
			t.Errorf("namespace %s left behind", nsName)
		}
		testkit.Eventually(t, "back to the descriptors before Open", func() bool { return openFDs(t) <= fds })
	})

	t.Run("existing namespace", func(t *testing.T) {
		nsName := createTestNetNS(t)
		h := netlinkIn(t, nsName)
		fds := openFDs(t)
		if dev, err := Open(Config{NetNS: nsName, Addrs: dup}); err == nil {
			dev.Close()
			t.Fatal("Open with a duplicate address succeeded")
		}
		if linkExists(t, h, DefaultName) {
			t.Errorf("link %s left behind", DefaultName)
		}
		if !testkit.NamespaceExists(nsName) {
			t.Errorf("namespace %s removed, though Open did not create it", nsName)
		}
		testkit.Eventually(t, "back to the descriptors before Open", func() bool { return openFDs(t) <= fds })
	})
}

func TestOpenWithoutTUNDriver(t *testing.T) {
	saved := tunClonePath
	tunClonePath = filepath.Join(t.TempDir(), "no-tun")
	defer func() { tunClonePath = saved }()

	// No device can be created, so the current namespace is safe.
	_, err := Open(Config{Name: "tsnotun0"})
	if !errors.Is(err, ErrNoTUN) {
		t.Errorf("Open: err = %v, want ErrNoTUN", err)
	}
}

// permissionChildEnv, when set, makes the test binary act as the child of
// TestOpenWithoutCapNetAdmin: it tries Open in the namespace the variable
// names and reports the error on stdout.
const permissionChildEnv = "TUNDEV_TEST_PERMISSION_CHILD_NETNS"

func TestMain(m *testing.M) {
	if nsName := os.Getenv(permissionChildEnv); nsName != "" {
		os.Exit(permissionChild(nsName))
	}
	os.Exit(m.Run())
}

func permissionChild(nsName string) int {
	dev, err := Open(Config{NetNS: nsName, Addrs: defaultCfg.Addrs})
	if err == nil {
		dev.Close()
		fmt.Println("Open succeeded without CAP_NET_ADMIN")
		return 1
	}
	fmt.Println(err)
	if !errors.Is(err, ErrPermission) {
		return 1
	}
	return 0
}

// TestOpenWithoutCapNetAdmin runs Open in a child process (this test
// binary) that root starts without CAP_NET_ADMIN, in a namespace the child
// creates, and checks the one line it fails with and that it removed the
// namespace.
func TestOpenWithoutCapNetAdmin(t *testing.T) {
	testkit.RequireRoot(t)
	setpriv := testkit.RequireCommand(t, "setpriv", "util-linux")
	nsName := testNetNSName(t)
	cmd := exec.Command(setpriv, "--inh-caps=-all", "--bounding-set=-net_admin", "--", os.Args[0])
	cmd.Env = append(os.Environ(), permissionChildEnv+"="+nsName)
	out, err := cmd.Output()
	got := strings.TrimSpace(string(out))
	if err != nil {
		t.Fatalf("child: %v: %s", err, got)
	}
	want := "creating TUN device tunstack0: operation not permitted (need CAP_NET_ADMIN: run as root or with sudo)"
	if got != want {
		t.Errorf("child said %q\n           want %q", got, want)
	}
	if testkit.NamespaceExists(nsName) {
		t.Errorf("namespace %s left behind by the failed Open", nsName)
	}
}

// A batch of small packets goes through the io_uring in one call (uring.go)
// and reaches the kernel whole and in order.
func TestWriteBatchOfSmallPacketsReachesKernel(t *testing.T) {
	dev := openTestDevice(t, defaultCfg)
	if dev.ring == nil {
		t.Fatal("the device has no io_uring: the kernel has none, or it is turned off (kernel.io_uring_disabled)")
	}
	var conn *net.UDPConn
	inNetNS(t, dev.NetNS(), func() error {
		var err error
		conn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(kernelAddr4.Addr(), 0)))
		return err
	})
	defer conn.Close()
	conn.SetReadBuffer(1 << 20) // room for the whole batch at once
	kernel := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	from := netip.AddrPortFrom(stackAddr4, 4000)

	const packets = ringBatch + 5 // two chunks
	var bufs [][]byte
	for i := range packets {
		pkt := testkit.UDPPacket(from, kernel, fmt.Appendf(nil, "packet %d", i))
		if len(pkt) > ringMaxPacket {
			t.Fatalf("test packet of %d bytes is too long for the ring", len(pkt))
		}
		// Garbage where the virtio-net header goes: Write must clear it.
		bufs = append(bufs, append(bytes.Repeat([]byte{0xff}, testOffset), pkt...))
	}
	if n, err := dev.Write(bufs, testOffset); n != packets || err != nil {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, packets)
	}
	got := make([]byte, 1500)
	for i := range packets {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := conn.ReadFromUDPAddrPort(got)
		if err != nil {
			t.Fatalf("packet %d: the kernel received nothing: %v", i, err)
		}
		if want := fmt.Sprintf("packet %d", i); string(got[:n]) != want {
			t.Fatalf("the kernel received %q, want %q", got[:n], want)
		}
	}
	if dev.ring == nil {
		t.Error("the io_uring was given up")
	}
}

func TestIndexHereIsFalseInAnotherNamespace(t *testing.T) {
	dev := openTestDevice(t, defaultCfg)
	index, here, err := dev.IndexHere()
	if err != nil {
		t.Fatalf("IndexHere: %v", err)
	}
	if here {
		t.Errorf("IndexHere: the device in namespace %s is said to be in this process's namespace", dev.NetNS())
	}
	link, err := netlinkIn(t, dev.NetNS()).LinkByName(dev.Name())
	if err != nil {
		t.Fatal(err)
	}
	if index != link.Attrs().Index {
		t.Errorf("IndexHere: index %d, the link's is %d", index, link.Attrs().Index)
	}
}
