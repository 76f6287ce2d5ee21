package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// hog opens -conns connections to -dst, writes up to -bytes on each as
// fast as the connection takes them and never reads, holds them for -hold,
// then closes them all: the peer an echo service fills its buffers for,
// and that it must not let grow its memory without bound. Closing with
// unread data makes the kernel reset the connections.
func hog(args []string) error {
	fs := flag.NewFlagSet("hog", flag.ExitOnError)
	dst := fs.String("dst", "10.77.0.2:7", "the stack's echo service")
	conns := fs.Int("conns", 200, "connections")
	size := fs.Int("bytes", 1<<20, "bytes each connection writes")
	hold := fs.Duration("hold", 20*time.Second, "how long the connections stay open")
	fs.Parse(args)
	deadline := time.Now().Add(*hold)
	var written atomic.Int64
	var opened, full atomic.Int32
	var mu sync.Mutex
	var open []net.Conn
	var wg sync.WaitGroup
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", *dst, 5*time.Second)
			if err != nil {
				return
			}
			opened.Add(1)
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			c.SetWriteDeadline(deadline)
			chunk := make([]byte, 16<<10)
			for left := *size; left > 0; {
				n, err := c.Write(chunk[:min(len(chunk), left)])
				written.Add(int64(n))
				left -= n
				if errors.Is(err, os.ErrDeadlineExceeded) {
					full.Add(1) // the stack stopped taking: its window closed
					return
				}
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	time.Sleep(time.Until(deadline))
	for _, c := range open {
		c.Close()
	}
	fmt.Printf("hog: %d of %d connections to %s, %d MiB written, %d stopped by a closed window, held %v\n",
		opened.Load(), *conns, *dst, written.Load()>>20, full.Load(), *hold)
	return nil
}
