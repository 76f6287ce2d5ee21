package tundev

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/tests/testkit"
)

// verifyingDevice checks every packet the stack reads through
// ReadChecksummed against the claim that comes with it.
type verifyingDevice struct {
	*Device
	checksummedReads atomic.Int64 // reads that said their checksums are right
	singleClaims     atomic.Int64 // one-packet reads that said so all the same
	badChecksums     atomic.Int64 // packets of such reads whose checksum is wrong
}

func (v *verifyingDevice) ReadChecksummed(bufs [][]byte, sizes []int, offset int) (int, bool, error) {
	n, checksummed, err := v.Device.ReadChecksummed(bufs, sizes, offset)
	if !checksummed {
		return n, checksummed, err
	}
	v.checksummedReads.Add(1)
	if n == 1 {
		v.singleClaims.Add(1)
	}
	for i := range n {
		if !testkit.Matches(bufs[i][offset:offset+sizes[i]], testkit.TCP()) {
			v.badChecksums.Add(1)
		}
	}
	return n, checksummed, err
}

// The kernel's bulk TCP reaches a TUN as GSO super-packets; every read
// that ReadChecksummed vouches for must hold segments with right
// checksums, since the stack will not verify them.
func TestReadChecksummedVouchesOnlyForRightChecksums(t *testing.T) {
	for _, stackAddr := range []netip.Addr{stackAddr4, stackAddr6} {
		t.Run(stackAddr.String(), func(t *testing.T) {
			dev := &verifyingDevice{Device: openTestDevice(t, defaultCfg)}
			s, err := stack.New(dev, stack.Options{Addrs: []netip.Addr{stackAddr4, stackAddr6}})
			if err != nil {
				t.Fatalf("stack.New: %v", err)
			}
			ln, err := s.Listen("tcp", ":9")
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			go stack.ServeDiscard(ln)
			ctx, cancel := context.WithCancel(context.Background())
			runErr := make(chan error, 1)
			go func() { runErr <- s.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-runErr; err != nil {
					t.Errorf("Run: %v", err)
				}
			}()

			var conn net.Conn
			inNetNS(t, dev.NetNS(), func() error {
				var err error
				conn, err = net.DialTimeout("tcp", netip.AddrPortFrom(stackAddr, 9).String(), 5*time.Second)
				return err
			})
			defer conn.Close()
			chunk := make([]byte, 1<<20)
			for range 16 {
				if _, err := conn.Write(chunk); err != nil {
					t.Fatalf("Write: %v", err)
				}
			}
			testkit.Eventually(t, "a checksummed read", func() bool { return dev.checksummedReads.Load() > 0 })
			if n := dev.singleClaims.Load(); n > 0 {
				t.Errorf("%d one-packet reads claimed their checksums", n)
			}
			if n := dev.badChecksums.Load(); n > 0 {
				t.Errorf("%d packets of checksummed reads have a wrong TCP checksum", n)
			}
		})
	}
}
