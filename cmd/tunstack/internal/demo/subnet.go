package demo

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// The demo's addresses: 10.77.N.1 for the kernel and 10.77.N.2 for the
// stack, fd00:77:N::1 and fd00:77:N::2, with N from firstSubnet on. A
// running demo holds a lock on its N, so that no two demos on the machine
// share addresses: the kernel's tracepoint fires in every namespace, and
// only the addresses tell the demo's sockets from another's. The daemon's
// defaults (10.77.0.x), which the tests use, stay clear of them.
const (
	firstSubnet = 100
	subnets     = 100
)

// subnetLocks is the file whose byte N a demo locks while it uses subnet N.
var subnetLocks = "/run/tunstack/demo-subnets.lock"

// subnet is the demo's addresses, held until release.
type subnet struct {
	n    int
	lock *os.File
}

// takeSubnet takes the first subnet no running demo holds. The locks are
// open file description locks (F_OFD_SETLK): the kernel drops them when
// the file is closed, also when the process dies.
func takeSubnet() (*subnet, error) {
	if err := os.MkdirAll(filepath.Dir(subnetLocks), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(subnetLocks, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for n := firstSubnet; n < firstSubnet+subnets; n++ {
		lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: int64(n), Len: 1}
		err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
		if err == nil {
			return &subnet{n: n, lock: f}, nil
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", subnetLocks, err)
		}
	}
	f.Close()
	return nil, fmt.Errorf("%d demos are running: no subnet left in 10.77.%d-%d.0/24", subnets, firstSubnet, firstSubnet+subnets-1)
}

func (s *subnet) kernel() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 77, byte(s.n), 1}), 24)
}

func (s *subnet) stack() netip.Addr { return netip.AddrFrom4([4]byte{10, 77, byte(s.n), 2}) }

func (s *subnet) kernel6() netip.Prefix {
	return netip.MustParsePrefix(fmt.Sprintf("fd00:77:%d::1/64", s.n))
}

func (s *subnet) stack6() netip.Addr { return netip.MustParseAddr(fmt.Sprintf("fd00:77:%d::2", s.n)) }

func (s *subnet) release() { s.lock.Close() }
