package forward

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// fakeSYN records the relay's decision.
type fakeSYN struct {
	id      tcp.ID
	decided chan string
}

func (s *fakeSYN) ID() tcp.ID           { return s.id }
func (s *fakeSYN) Accept()              { s.decided <- "accept" }
func (s *fakeSYN) Refuse(reason string) { s.decided <- "refuse " + reason }
func (s *fakeSYN) Drop(reason string)   { s.decided <- "drop " + reason }
func (s *fakeSYN) decision(t *testing.T) string {
	t.Helper()
	select {
	case d := <-s.decided:
		return d
	case <-t.Context().Done():
		t.Fatal("no decision")
		return ""
	}
}

// idleListener accepts nothing until it is closed.
type idleListener struct{ closed chan struct{} }

func (l *idleListener) Accept() (net.Conn, error) { <-l.closed; return nil, net.ErrClosed }
func (l *idleListener) Close() error              { close(l.closed); return nil }
func (l *idleListener) Addr() net.Addr            { return &net.TCPAddr{} }

// TestAbandonedHandshakeLetsTheServerConnectionGo: the server connection
// made for a client's SYN is closed as soon as the engine says the
// client's handshake failed, not at claimTimeout.
func TestAbandonedHandshakeLetsTheServerConnectionGo(t *testing.T) {
	var admit func(SYN)
	var abandoned func(tcp.ID)
	listen := func(a func(SYN), g func(tcp.ID)) (net.Listener, error) {
		admit, abandoned = a, g
		return &idleListener{closed: make(chan struct{})}, nil
	}
	server, relaySide := connPair()
	dial := func(context.Context, string, string) (net.Conn, error) { return relaySide, nil }
	f, err := StartWith(listen, func(tcp.ID) string { return "192.0.2.10:80" }, dial, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { f.Close(); f.Wait() }()

	syn := &fakeSYN{id: tcp.ID{Local: netip.MustParseAddrPort("192.0.2.10:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}, decided: make(chan string, 1)}
	admit(syn)
	if d := syn.decision(t); d != "accept" {
		t.Fatalf("decision %q, want accept once the server connection is made", d)
	}
	f.mu.Lock()
	claimed := len(f.claims)
	f.mu.Unlock()
	if claimed != 1 {
		t.Fatalf("%d server connections held, want the client's", claimed)
	}
	read := make(chan error, 1)
	go func() {
		_, err := server.Read(make([]byte, 1))
		read <- err
	}()
	abandoned(syn.id)
	select {
	case err := <-read:
		if err != io.EOF {
			t.Errorf("the server's read after the client's handshake failed: %v, want EOF (its connection closed)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server connection is still open 5 s after the client's handshake failed")
	}
	f.mu.Lock()
	claimed = len(f.claims)
	f.mu.Unlock()
	if claimed != 0 {
		t.Errorf("%d server connections still held", claimed)
	}
}
