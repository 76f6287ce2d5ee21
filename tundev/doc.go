// Package tundev gives the stack a link to run on: a Linux TUN device, or an
// in-memory pipe for tests that need no root.
//
// Open creates a TUN device with golang.zx2c4.com/wireguard/tun (batched
// reads and writes, and IFF_VNET_HDR with the TSO and USO offloads when
// the running kernel accepts them), optionally inside a named network
// namespace, and configures the kernel side of it over netlink: MTU,
// addresses, link up. Closing the device removes it, and removes the
// namespace if Open created it. CreateNetNS, DeleteNetNS and
// UniqueNetNSName manage named namespaces as `ip netns` does.
//
// NewPipe returns a Memory device and the Peer that plays the kernel's part:
// the peer injects the packets the stack reads and receives the packets the
// stack writes; Peer.Link turns the peer's end into a link of its own, so
// that two stacks can talk to each other.
//
// Impair wraps either device in one that drops, duplicates, reorders and
// delays packets in each direction, as the netem qdisc does for a kernel
// interface, but in the process: it needs neither netem (which not every
// kernel has) nor root.
//
// Every device has the method set of stack.Link; this package does not
// import the stack, and knows nothing of TCP or of the packets it carries.
// It does not add routes beyond those the kernel derives from the
// addresses' prefixes, nor firewall rules, and it does not support
// multi-queue TUN devices.
package tundev
