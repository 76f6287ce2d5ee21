package main

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	"golang.org/x/sys/unix"
)

// rawSocket sends whole IP packets, header included: IPPROTO_RAW, which
// implies IP_HDRINCL for IPv4 and IPv6 alike. The kernel fills in the
// IPv4 total length and header checksum, and routes by the destination
// address; the source is whatever the packet says.
type rawSocket struct {
	fd int
	to unix.Sockaddr
}

func openRaw(dst netip.Addr) (*rawSocket, error) {
	family := unix.AF_INET6
	var to unix.Sockaddr = &unix.SockaddrInet6{Addr: dst.As16()}
	if dst.Is4() {
		family = unix.AF_INET
		to = &unix.SockaddrInet4{Addr: dst.As4()}
	}
	fd, err := unix.Socket(family, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return nil, fmt.Errorf("raw socket (needs CAP_NET_RAW): %w", err)
	}
	return &rawSocket{fd: fd, to: to}, nil
}

// send sends one packet. Errors the kernel gives for a packet it will not
// send (a header it refuses) are not the socket's fault: they are counted
// by the caller and the flood goes on.
func (r *rawSocket) send(pkt []byte) error {
	return unix.Sendto(r.fd, pkt, 0, r.to)
}

func (r *rawSocket) close() { unix.Close(r.fd) }

// randomSource is a source address of dst's family that no honest host
// near the stack has: anywhere in the address space but the stack's and
// the kernel's networks. A few are martians (loopback, multicast, ...),
// as in a real flood; the stack drops those first.
func randomSource(rng *rand.Rand, dst netip.Addr) netip.Addr {
	if dst.Is4() {
		for {
			var a [4]byte
			v := rng.Uint32()
			a[0], a[1], a[2], a[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
			if a[0] != dst.As4()[0] {
				return netip.AddrFrom4(a)
			}
		}
	}
	var a [16]byte
	for i := range a {
		a[i] = byte(rng.Uint32())
	}
	a[0] = 0x20 | a[0]&0x1f // global unicast, 2000::/3
	return netip.AddrFrom16(a)
}
