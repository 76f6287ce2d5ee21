// Command soakpeer is the hostile half of scripts/soak.sh: it floods the
// stack with spoofed SYNs, sends it malformed packets, and opens
// connections that write and never read. It runs inside the soak's network
// namespace (ip netns exec), sends only to the address it is given, and
// stops by itself after -duration; what it sends never leaves the
// namespace, whose only device is the stack's TUN.
//
//	soakpeer synflood -dst 10.77.0.2:80 -rate 20000 -duration 30s
//	soakpeer garbage  -dst 10.77.0.2 -rate 20000 -duration 30s
//	soakpeer hog      -dst 10.77.0.2:7 -conns 200 -bytes 1048576 -hold 20s
//
// Each prints one line of figures on standard output when it is done.
// Raw packets go out through an IPPROTO_RAW socket (the program writes the
// whole IP header), so it needs CAP_NET_RAW.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "synflood":
		err = synFlood(os.Args[2:])
	case "garbage":
		err = garbage(os.Args[2:])
	case "hog":
		err = hog(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "soakpeer %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: soakpeer synflood|garbage|hog -dst ADDR[:PORT] [flags]; see the package doc")
	os.Exit(2)
}

// rateFlags are the flags of the commands that send packets at a rate.
type rateFlags struct {
	dst      string
	rate     int
	duration time.Duration
	seed     uint64
}

func (r *rateFlags) register(fs *flag.FlagSet, dst string) {
	fs.StringVar(&r.dst, "dst", dst, "the stack's address (and port)")
	fs.IntVar(&r.rate, "rate", 20000, "packets per second")
	fs.DurationVar(&r.duration, "duration", 10*time.Second, "how long to send")
	fs.Uint64Var(&r.seed, "seed", uint64(time.Now().UnixNano()), "seed of the random packets")
}

// paced calls send rate times a second until duration has passed or send
// fails, and returns how many packets went and how long it took.
func paced(rate int, duration time.Duration, send func() error) (int, time.Duration, error) {
	start := time.Now()
	sent := 0
	for {
		elapsed := time.Since(start)
		if elapsed >= duration {
			return sent, elapsed, nil
		}
		due := int(elapsed.Seconds() * float64(rate))
		if sent >= due {
			time.Sleep(500 * time.Microsecond)
			continue
		}
		for ; sent < due; sent++ {
			if err := send(); err != nil {
				return sent, time.Since(start), err
			}
		}
	}
}
