package daemon

import (
	"testing"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// TestOpenConnections: a shutdown closes or resets every connection but
// listeners and those already closed or in TIME-WAIT.
func TestOpenConnections(t *testing.T) {
	var conns []stack.ConnInfo
	for _, s := range []tcp.State{tcp.Listen, tcp.SynReceived, tcp.Established, tcp.FinWait2, tcp.CloseWait, tcp.TimeWait, tcp.Closed} {
		conns = append(conns, stack.ConnInfo{Status: tcp.Status{State: s}})
	}
	if n := openConnections(conns); n != 4 {
		t.Errorf("openConnections = %d, want 4 (SYN-RECEIVED, ESTABLISHED, FIN-WAIT-2, CLOSE-WAIT)", n)
	}
}
