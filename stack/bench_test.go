package stack

import (
	"io"
	"strconv"
	"testing"
)

// BenchmarkStackToStack measures bulk transfer between two stacks over the
// in-memory link: the loop, the queues and the engine, without a kernel.
func BenchmarkStackToStack(b *testing.B) {
	a, c := newMemLinkPair()
	client := startStack(b, a, stackOptions(peerAddr4))
	server := startStack(b, c, stackOptions(stackAddr4))
	ln, err := server.Listen("tcp", ":9")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan int64, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- 0
			return
		}
		n, _ := io.Copy(io.Discard, conn)
		conn.Close()
		done <- n
	}()
	conn, err := client.DialContext(b.Context(), "tcp", "10.77.0.2:9")
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	for range b.N {
		if _, err := conn.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	conn.(*Conn).CloseWrite()
	if n := <-done; n != int64(b.N*len(chunk)) {
		b.Fatalf("server read %d bytes, want %d", n, b.N*len(chunk))
	}
	b.StopTimer()
	b.ReportMetric(float64(a.dropped.Load()+c.dropped.Load()), "link-drops")
	conn.Close()
}

// BenchmarkUDPRoundTrip measures UDP request and answer between two
// stacks over the in-memory link: a connected socket on one, the echo
// service on the other; one datagram in flight at a time.
func BenchmarkUDPRoundTrip(b *testing.B) {
	for _, size := range []int{64, 1400} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			a, c := newMemLinkPair()
			client := startStack(b, a, stackOptions(peerAddr4))
			server := startStack(b, c, stackOptions(stackAddr4))
			pc, err := server.ListenPacket("udp", ":7")
			if err != nil {
				b.Fatal(err)
			}
			defer pc.Close()
			go ServeUDPEcho(pc)
			conn, err := client.DialUDP("udp", "10.77.0.2:7")
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			msg, buf := make([]byte, size), make([]byte, 2048)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := conn.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := conn.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
