package stack

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// Reads of any size drain a transfer larger than the receive queue: a Read wakes the loop to refill the queue
// only once half of it is free, and never leaves data stranded in the
// engine.
func TestSmallReadsDrainALargeTransfer(t *testing.T) {
	for _, size := range []int{1, 100, recvRefill - 1, connQueueSize} {
		client, srv := startPair(t)
		ln := listen(t, srv, ":9")
		c := dial(t, client, "10.77.0.2:9")
		want := randomBytes(1 << 20)
		go func() {
			c.Write(want)
			c.CloseWrite()
		}()
		sc, err := ln.Accept()
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		var got bytes.Buffer
		buf := make([]byte, size)
		for {
			n, err := sc.Read(buf)
			got.Write(buf[:n])
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("reads of %d bytes: Read: %v", size, err)
			}
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("reads of %d bytes got %d bytes, want the %d written", size, got.Len(), len(want))
		}
	}
}
