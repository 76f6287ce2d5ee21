// Command tunstack runs a userspace TCP/IP stack on a Linux TUN device and
// talks to it.
//
//	tunstack up      the daemon, in the foreground
//	tunstack dial    an active open from the stack through a running daemon, like nc
//	tunstack ss      the daemon's connections with their timers, like ss -tani
//	tunstack trace   segments, state changes and drops live, with their RFC rule
//	tunstack demo    TCP's states on both ends of real connections, in a private namespace
//	tunstack bench   tunstack's engine against gVisor's netstack, side by side
//	tunstack cleanup remove what daemons that died left behind
//
// This package holds the commands and their wiring only; what they use
// lives under internal/: the flags (flags), the daemon that plugs tundev
// (the device) and stack (the protocols) together (daemon), the control
// socket's protocol (control), the built-in services (services), the
// metrics (metrics), what ss and trace print (ss, trace), the bench
// (bench), the demo (demo, kernelstates) and the usage errors (usage).
// It does no packet processing of its own. It does not daemonize, and it
// does not touch the machine's real interfaces: the device it creates
// carries only the addresses it is given.
package main

import "os"

func main() {
	in := notifyInterrupts()
	c := newCLI(os.Stdin, os.Stdout, os.Stderr)
	c.secondSignal = in.claim
	os.Exit(c.run(in.ctx, os.Args[1:]))
}
