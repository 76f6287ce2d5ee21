package kernelstates

import (
	"fmt"
	"sync"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// linuxStateNumbers are Linux's TCP states by number
// (include/net/tcp_states.h), as sock_diag gives them: for a TIME-WAIT
// mini-socket its substate, TIME_WAIT or FIN_WAIT2.
var linuxStateNumbers = map[uint8]tcp.State{
	1: tcp.Established, 2: tcp.SynSent, 3: tcp.SynReceived, 4: tcp.FinWait1, 5: tcp.FinWait2,
	6: tcp.TimeWait, 7: tcp.Closed, 8: tcp.CloseWait, 9: tcp.LastAck, 10: tcp.Listen, 11: tcp.Closing,
	12: tcp.SynReceived,
}

// stateReader says what state the kernel's socket with these ends is in,
// if there is one.
type stateReader interface {
	state(e ends) (tcp.State, bool)
}

// socketDiag asks the kernel, through sock_diag (as ss does), for the
// state of a socket in one network namespace.
type socketDiag struct {
	mu sync.Mutex
	h  *netlink.Handle
}

// openSocketDiag opens a sock_diag socket in the named namespace ("" for
// this one).
func openSocketDiag(name string) (*socketDiag, error) {
	ns := netns.None()
	if name != "" {
		var err error
		if ns, err = netns.GetFromName(name); err != nil {
			return nil, fmt.Errorf("network namespace %s: %w", name, err)
		}
		defer ns.Close()
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_INET_DIAG)
	if err != nil {
		return nil, fmt.Errorf("sock_diag: %w", err)
	}
	return &socketDiag{h: h}, nil
}

// state is the state of the kernel's socket with these ends, and whether
// there is one.
func (d *socketDiag) state(e ends) (tcp.State, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	family := uint8(unix.AF_INET)
	if e.local.Addr().Is6() {
		family = unix.AF_INET6
	}
	socks, err := d.h.SocketDiagTCP(family)
	if err != nil && len(socks) == 0 {
		return 0, false
	}
	for _, s := range socks {
		if s.ID.SourcePort != e.local.Port() || s.ID.DestinationPort != e.remote.Port() ||
			!s.ID.Source.Equal(e.local.Addr().AsSlice()) || !s.ID.Destination.Equal(e.remote.Addr().AsSlice()) {
			continue
		}
		st, ok := linuxStateNumbers[s.State]
		return st, ok
	}
	return 0, false
}

func (d *socketDiag) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.h.Close()
}
