package services

import (
	"bytes"
	"net"
	"testing"
	"time"
)

func TestUDPEchoByName(t *testing.T) {
	if Network("udp-echo") != "udp" || Network("echo") != "tcp" {
		t.Fatalf("Network: udp-echo %s, echo %s", Network("udp-echo"), Network("echo"))
	}
	if Handler("udp-echo") != nil || PacketHandler("echo") != nil {
		t.Error("a service is both TCP and UDP")
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- PacketHandler("udp-echo")(pc) }()
	c, err := net.Dial("udp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("ping"))
	buf := make([]byte, 10)
	n, err := c.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], []byte("ping")) {
		t.Errorf("echo: %q, %v", buf[:n], err)
	}
	pc.Close()
	if err := <-done; err != nil {
		t.Errorf("udp-echo after its socket closed = %v, want nil", err)
	}
}
