// Package tests holds tunstack's integration tests: each test builds the real
// tunstack binary, runs `tunstack up` inside a network namespace of its own
// and drives it with the real curl, nc, ping and tshark (through `ip netns
// exec`), with hand-built packets (tests/rawpeer) and floods. It reads the
// kernel's view with `ss` and /proc/net/snmp, and the daemon's through its
// control socket, its metrics and its pcap files.
//
// The tests need root (namespaces and TUN devices, testkit.RequireRoot);
// without root they skip, unless the environment variable CI is set, where
// they fail instead. They never touch the host's own interfaces: every
// address they use lives inside a namespace that the test creates and
// removes, also when it fails.
//
// This package has no library code: the helpers every package's tests
// share are in tests/testkit. It does not test the engine's rules one by
// one (stack/tcp does that on a virtual clock), nor compare tunstack's
// engine with gVisor's segment by segment (tests/crosscheck does).
package tests
