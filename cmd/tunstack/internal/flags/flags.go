// Package flags holds the command line flags that tunstack's commands
// share: the daemon's device and control socket (Device), and every flag
// of `tunstack up` (Up), grouped by concern in this package's files (tcp.go
// the engine's policies, limits.go the rate limits, listen.go the listen
// queues, memory.go the buffer budget, frag.go IP reassembly), with the
// checks that turn them into a daemon.Config. Every error names its flag
// and is a usage error (exit 2).
//
// It defines the flags and checks their values; it starts nothing.
package flags

// Defaults a user gets (DESIGN.md, "Defaults a user gets").
const (
	DefaultDev        = "tunstack0"
	DefaultAddr       = "10.77.0.1/24"
	DefaultIP         = "10.77.0.2"
	DefaultAddr6      = "fd00:77::1/64"
	DefaultIP6        = "fd00:77::2"
	DefaultMTU        = 1500
	DefaultServe      = "http:80,echo:7,discard:9,udp-echo:7"
	DefaultControlDir = "/run/tunstack"
)
