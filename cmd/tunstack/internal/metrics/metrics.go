// Package metrics serves the stack's counters as Prometheus metrics: a
// collector that reads one snapshot of stack.Counters per scrape, so the
// event loop pays nothing between scrapes, and the HTTP server of
// `tunstack up --metrics`, which listens inside the device's namespace.
// States are labelled with the names of package control.
//
// It does not check where it may listen (the flags do: the kernel's side
// of the device only) and keeps no history: every value is the stack's
// own counter or gauge at the scrape.
package metrics

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tunstack/tunstack/tundev"
)

// Path is where the metrics are served.
const Path = "/metrics"

// Server serves Path until Close.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// Serve listens on addr inside network namespace netns ("" for the
// current one) and serves c's metrics there.
func Serve(addr, netns string, c *Collector, log *slog.Logger) (*Server, error) {
	var ln net.Listener
	err := tundev.InNetNS(netns, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("--metrics %s: %w", addr, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mux := http.NewServeMux()
	mux.Handle(Path, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	s := &Server{
		ln:   ln,
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "addr", addr, "err", err)
		}
	}()
	log.Info("serving metrics", "url", "http://"+addr+Path)
	return s, nil
}

// Addr is where the server listens.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops listening and ends the scrapes in progress.
func (s *Server) Close() {
	s.srv.Close()
	<-s.done
}
