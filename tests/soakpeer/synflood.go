package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/tunstack/tunstack/tests/testkit"
)

// synFlood sends SYNs with random sources, ports, sequence numbers and
// the options a Linux client offers, at -rate a second: a spoofed SYN
// flood (RFC 4987 §2). The SYN-ACKs go to addresses that do not exist;
// the kernel of the namespace drops them.
func synFlood(args []string) error {
	fs := flag.NewFlagSet("synflood", flag.ExitOnError)
	var r rateFlags
	r.register(fs, "10.77.0.2:80")
	fs.Parse(args)
	dst, err := netip.ParseAddrPort(r.dst)
	if err != nil {
		return fmt.Errorf("-dst: %w", err)
	}
	sock, err := openRaw(dst.Addr())
	if err != nil {
		return err
	}
	defer sock.close()
	rng := rand.New(rand.NewPCG(r.seed, 1))
	buf := make([]byte, 128)
	refused := 0
	sent, took, err := paced(r.rate, r.duration, func() error {
		src := netip.AddrPortFrom(randomSource(rng, dst.Addr()), uint16(1024+rng.IntN(64511)))
		buf = testkit.AppendTCPPacket(buf[:0], src, dst, testkit.Segment{
			Seq: rng.Uint32(), Flags: testkit.SYN, Window: 64240,
			Options: testkit.Options{MSS: 1460, SACKPermitted: true, HasWindowScale: true, WindowScale: 7,
				HasTimestamps: true, TSVal: rng.Uint32()},
		})
		if sock.send(buf) != nil {
			refused++
		}
		return nil
	})
	fmt.Printf("synflood: %d SYNs to %v in %.1fs (%.0f/s), %d refused by the kernel\n",
		sent, dst, took.Seconds(), float64(sent)/took.Seconds(), refused)
	return err
}
