// Package tests holds tunstack's integration tests: each test builds the real
// tunstack binary, runs `tunstack up` inside a network namespace of its own
// and drives it with the real curl, nc and ping (through `ip netns exec`),
// reading the kernel's view with `ss` and the daemon's view through its
// control socket.
//
// The tests need root (namespaces and TUN devices); without root they skip,
// unless the environment variable CI is set, where they fail instead. They
// never touch the host's own interfaces: every address they use lives inside
// a namespace that the test creates and removes.
//
// This package has no library code; it does not test the engine's rules one
// by one (stack/tcp does that on a virtual clock).
package tests
