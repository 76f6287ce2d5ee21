package main

import (
	"errors"
	"fmt"
	"net"
	"runtime"

	"github.com/vishvananda/netns"
)

// listenInNetNS opens a listening socket inside the named network
// namespace ("" for the current one). A socket belongs to the namespace it
// was created in, whichever thread later uses it: only the creating
// thread has to switch, and it switches back before anything else runs on
// it. If it cannot switch back it stays locked and the runtime discards it
// with its goroutine.
func listenInNetNS(name, network, address string) (net.Listener, error) {
	if name == "" {
		return net.Listen(network, address)
	}
	type result struct {
		ln  net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		origin, err := netns.Get()
		if err != nil {
			done <- result{err: fmt.Errorf("getting the current network namespace: %w", err)}
			return
		}
		defer origin.Close()
		target, err := netns.GetFromName(name)
		if err != nil {
			done <- result{err: fmt.Errorf("opening network namespace %s: %w", name, err)}
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			done <- result{err: fmt.Errorf("entering network namespace %s: %w", name, err)}
			return
		}
		ln, listenErr := net.Listen(network, address)
		if err := netns.Set(origin); err != nil {
			if ln != nil {
				ln.Close()
			}
			done <- result{err: errors.Join(listenErr, fmt.Errorf("leaving network namespace %s: %w", name, err))}
			return
		}
		runtime.UnlockOSThread()
		done <- result{ln: ln, err: listenErr}
	}()
	r := <-done
	return r.ln, r.err
}
