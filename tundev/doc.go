// Package tundev gives the stack a link to run on: a Linux TUN device, or an
// in-memory pipe for tests that need no root.
//
// Open creates a TUN device with golang.zx2c4.com/wireguard/tun (batched
// reads and writes, IFF_VNET_HDR with the TSO/USO offloads where the kernel
// allows them), optionally inside a named network namespace, and configures
// the kernel side of it over netlink: MTU, addresses, link up. Closing the
// device removes it, and removes the namespace if Open created it.
//
// NewPipe returns a Memory device and the Peer that plays the kernel's part:
// the peer injects the packets the stack reads and receives the packets the
// stack writes.
//
// Impair wraps either device in one that drops, duplicates, reorders and
// delays packets in each direction, as netem would (this kernel has none).
//
// Every device has the method set of stack.Link; this package does not
// import the stack, and knows nothing of TCP or of the packets it carries.
// It does not add routes or firewall rules, and it does not support
// multi-queue TUN devices.
package tundev
