// Package metrics serves the stack's counters as Prometheus metrics: a
// collector that reads one snapshot of stack.Counters per scrape, so the
// event loop pays nothing between scrapes, and the HTTP server of
// `tunstack up --metrics`, which listens in the network namespace it is
// given (the device's, or with --metrics-from-host the one tunstack
// started in). Beside the stack's metrics it serves client_golang's Go
// and process collectors (go_*, process_*) and tunstack_build_info. Label
// values are lowercase snake case (LabelValue): states as close_wait,
// reasons as engine_rst_outside_window.
//
// It does not check where it may listen (the flags do) and keeps no
// history: every value is the stack's own counter or gauge at the scrape.
package metrics

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/version"
	"github.com/tunstack/tunstack/tundev"
)

// Path is where the metrics are served; "/" is a page that links to it.
const Path = "/metrics"

// rootPage is what "/" serves, as Prometheus's own exporters do.
const rootPage = `<!DOCTYPE html>
<html>
<head><title>tunstack metrics</title></head>
<body>
<h1>tunstack</h1>
<p>A userspace TCP/IP stack on a TUN device. Its Prometheus metrics: <a href="` + Path + `">` + Path + `</a></p>
</body>
</html>
`

// Registry holds c, the Go and process collectors and the build
// information: everything Serve serves.
func Registry(c *Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newBuildInfo(version.Get()))
	return reg
}

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
	mux := http.NewServeMux()
	mux.Handle(Path, promhttp.HandlerFor(Registry(c), promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, rootPage)
	})
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
	where := "the device's namespace"
	if netns == "" {
		where = "the namespace tunstack started in"
	}
	log.Info("serving metrics", "url", "http://"+ln.Addr().String()+Path, "in", where)
	return s, nil
}

// Addr is where the server listens.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops listening and ends the scrapes in progress.
func (s *Server) Close() {
	s.srv.Close()
	<-s.done
}
