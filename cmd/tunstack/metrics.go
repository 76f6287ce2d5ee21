package main

// `tunstack up --metrics ADDR` serves the stack's counters as Prometheus
// metrics on http://ADDR/metrics, where ADDR must be the kernel's side of
// the device (10.77.0.1:9100 or [fd00:77::1]:9100 by default), so that only
// the machine itself, or the namespace the device lives in, can scrape
// them.

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

// metricsPath is where the metrics are served.
const metricsPath = "/metrics"

// parseMetricsAddr checks --metrics: an IP literal and a port, where the IP
// is one of the kernel's addresses on the device. It returns the address
// in its canonical form.
func parseMetricsAddr(text string, kernel []netip.Prefix) (string, error) {
	var choices []string
	for _, p := range kernel {
		choices = append(choices, netip.AddrPortFrom(p.Addr(), 9100).String())
	}
	hint := "the kernel's side of the device, like " + strings.Join(choices, " or ")
	host, portText, err := net.SplitHostPort(text)
	if err != nil {
		return "", usage.Errorf("--metrics %q: want IP:PORT on %s", text, hint)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return "", usage.Errorf("--metrics %q: bad port %q (want 1-65535)", text, portText)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return "", usage.Errorf("--metrics %q: %q is not an IP address; listen on %s", text, host, hint)
	}
	for _, p := range kernel {
		if ip.Unmap() == p.Addr() {
			return netip.AddrPortFrom(p.Addr(), uint16(port)).String(), nil
		}
	}
	return "", usage.Errorf("--metrics %q: metrics listen on %s only, not on %s", text, hint, host)
}

// metricsServer serves /metrics until close.
type metricsServer struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// startMetrics listens on addr inside namespace netns ("" for the current
// one) and serves the registry there.
func startMetrics(addr, netns string, reg *prometheus.Registry, log *slog.Logger) (*metricsServer, error) {
	ln, err := listenInNetNS(netns, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle(metricsPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	m := &metricsServer{
		ln:   ln,
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "addr", addr, "err", err)
		}
	}()
	log.Info("serving metrics", "url", "http://"+addr+metricsPath)
	return m, nil
}

// close stops listening and ends the scrapes in progress.
func (m *metricsServer) close() {
	m.srv.Close()
	<-m.done
}

// startMetrics serves --metrics for the daemon's engine, if asked for.
func (d *daemon) startMetrics() error {
	if d.cfg.Metrics == "" {
		return nil
	}
	var lost func() uint64
	if d.capture != nil {
		lost = d.capture.Lost
	}
	reg := newMetricsRegistry(newStackCollector(d.stack.Counters, lost))
	m, err := startMetrics(d.cfg.Metrics, d.cfg.NetNS, reg, d.log)
	if err != nil {
		return err
	}
	d.metrics = m
	return nil
}

// stopMetrics closes the metrics listener; the namespace can then go.
func (d *daemon) stopMetrics() {
	if d.metrics != nil {
		d.metrics.close()
	}
}
