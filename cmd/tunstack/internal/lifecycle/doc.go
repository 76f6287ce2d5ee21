// Package lifecycle keeps a record of what a running daemon (`tunstack
// up`) made that outlives its process if it dies without stopping (by
// SIGKILL, a crash, a power cut of its container): the network namespace
// it created and its control socket. A later `tunstack up` for the same
// device, and `tunstack cleanup`, find the records whose daemon is gone
// and remove what they name, and only that: a namespace the daemon did
// not create, or that is no longer the one it created, stays, and so
// does anything a live daemon uses. The TUN device needs no record: the
// kernel removes it when its last descriptor closes.
//
// Records are JSON files, one per device and namespace, in Dir
// (/run/tunstack/daemons, on a tmpfs: a reboot forgets them with what
// they name). A daemon is gone when no process has its PID and start
// time, so a PID the kernel reused does not keep a record alive.
//
// It opens no device and runs no daemon.
package lifecycle
