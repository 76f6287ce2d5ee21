package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// This file holds the built-in services. Each serves one listener until
// it closes and then returns nil; connections already open finish on their
// own. All but HTTP (net/http's own loop) run on Serve (serve.go).

type connContextKey struct{}

// ServeHTTP serves a page that shows the client its connection as the
// stack sees it: the 4-tuple and the TCP states it has passed through so
// far. Keep-alive works as in any net/http server.
func ServeHTTP(ln net.Listener) error {
	srv := &http.Server{
		Handler:           http.HandlerFunc(connectionPage),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connContextKey{}, c)
		},
	}
	return ignoreClosed(srv.Serve(ln))
}

func connectionPage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var b strings.Builder
	b.WriteString("Hello from tunstack, a userspace TCP/IP stack written in Go.\n")
	if c, ok := r.Context().Value(connContextKey{}).(*Conn); ok {
		b.WriteString("This page was served by its own TCP engine, not by the kernel's.\n\n")
		id := c.ID()
		fmt.Fprintf(&b, "your end:  %v\n", id.Remote)
		fmt.Fprintf(&b, "our end:   %v\n", id.Local)
		states := make([]string, 0, 8)
		for _, st := range c.States() {
			states = append(states, st.String())
		}
		fmt.Fprintf(&b, "states so far: %s\n", strings.Join(states, " -> "))
	} else {
		// Another engine behind the same listener (tunstack up --engine
		// gvisor): it keeps no record of the states.
		b.WriteString("This page was served through another TCP engine; it does not record states.\n\n")
		fmt.Fprintf(&b, "your end:  %s\n", r.RemoteAddr)
	}
	io.WriteString(w, b.String())
}

// ServeEcho sends every byte back (RFC 862). After the peer's FIN it
// finishes writing and closes, so its FIN follows the peer's.
func ServeEcho(ln net.Listener) error {
	return Serve(ln, func(c net.Conn) {
		if own, ok := c.(*Conn); ok {
			own.echo() // no buffer of its own (echo.go)
			return
		}
		io.Copy(c, c)
	})
}

// ServeDiscard reads and drops everything (RFC 863) and closes after the
// peer's FIN.
func ServeDiscard(ln net.Listener) error {
	return Serve(ln, func(c net.Conn) {
		io.Copy(io.Discard, c)
	})
}

func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
