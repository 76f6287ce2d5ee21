package tests

import (
	"fmt"
	"io"
	"net"
)

// answerAfterFIN is a server that proves a half-close travelled as one:
// it reads its one client until the client's FIN, and only then answers
// with the count of bytes it read ("13 bytes\n"), on the direction that
// is still open.
func answerAfterFIN(ln net.Listener) {
	c, err := ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	n, _ := io.Copy(io.Discard, c)
	fmt.Fprintf(c, "%d bytes\n", n)
}
