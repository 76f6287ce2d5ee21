// Package toxiapi serves an HTTP JSON API compatible with Toxiproxy's
// (`tunstack up --api ADDR`), so that Toxiproxy's clients drive tunstack
// unchanged: a proxy is a forward (its listen address is the stack's, its
// upstream the real server), a toxic a fault on the forward's port.
// Toxiproxy's toxics (latency, bandwidth, slow_close, timeout, slicer,
// limit_data, reset_peer) keep their attributes; tunstack's other faults
// come under their own names (drop_syn, blackhole, ...), with their
// attributes as `tunstack fault add` takes them.
//
// It keeps the proxies' names, states and toxics; the forwards and faults
// themselves are the daemon's, the same that the control socket shows.
// It does not serve Toxiproxy's metrics or events.
package toxiapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/forward"
	"github.com/tunstack/tunstack/stack/fault"
)

// Version is what GET /version answers.
const Version = "tunstack (Toxiproxy API 2.5.0)"

// Backend is what the API changes: the daemon's forwards and faults.
type Backend interface {
	AddForward(spec forward.Spec) error
	RemoveForward(port uint16) error
	Faults() *fault.Set
}

// Proxy is a proxy as Toxiproxy's API carries it.
type Proxy struct {
	Name     string  `json:"name"`
	Listen   string  `json:"listen"`
	Upstream string  `json:"upstream"`
	Enabled  bool    `json:"enabled"`
	Toxics   []Toxic `json:"toxics"`
}

// proxy is a proxy the API keeps.
type proxy struct {
	Proxy
	spec forward.Spec
}

// API is the handler of the Toxiproxy API.
type API struct {
	backend Backend
	log     *slog.Logger

	mu      sync.Mutex
	proxies map[string]*proxy
}

// New returns the API's handler for backend.
func New(backend Backend, log *slog.Logger) *API {
	return &API{backend: backend, log: log, proxies: make(map[string]*proxy)}
}

// apiError is an error with the status it answers with.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status, fmt.Sprintf(format, args...)}
}

// ServeHTTP routes Toxiproxy's paths.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	route := r.Method + " " + parts[0]
	if len(parts) > 1 {
		route += "/{proxy}"
	}
	if len(parts) > 2 {
		route += "/" + parts[2]
	}
	if len(parts) > 3 {
		route += "/{toxic}"
	}
	var (
		status = http.StatusOK
		body   any
		err    error
	)
	switch route {
	case "GET version":
		w.Header().Set("Content-Type", "text/plain;charset=utf-8")
		io.WriteString(w, Version)
		return
	case "POST reset":
		a.reset()
		status = http.StatusNoContent
	case "GET proxies":
		body = a.list()
	case "POST proxies":
		body, err = a.create(r.Body)
		status = http.StatusCreated
	case "POST populate":
		body, err = a.populate(r.Body)
		status = http.StatusCreated
	case "GET proxies/{proxy}":
		body, err = a.show(parts[1])
	case "POST proxies/{proxy}":
		body, err = a.update(parts[1], r.Body)
	case "DELETE proxies/{proxy}":
		err = a.remove(parts[1])
		status = http.StatusNoContent
	case "GET proxies/{proxy}/toxics":
		body, err = a.toxics(parts[1])
	case "POST proxies/{proxy}/toxics":
		body, err = a.addToxic(parts[1], r.Body)
	case "GET proxies/{proxy}/toxics/{toxic}":
		body, err = a.toxic(parts[1], parts[3])
	case "POST proxies/{proxy}/toxics/{toxic}":
		body, err = a.updateToxic(parts[1], parts[3], r.Body)
	case "DELETE proxies/{proxy}/toxics/{toxic}":
		err = a.removeToxic(parts[1], parts[3])
		status = http.StatusNoContent
	default:
		err = errorf(http.StatusNotFound, "not found: %s %s", r.Method, r.URL.Path)
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{http.StatusBadRequest, err.Error()}
		}
		status, body = ae.status, map[string]any{"error": ae.msg, "status": ae.status}
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// Server serves the API on a listener until Close.
type Server struct {
	srv  *http.Server
	done chan struct{}
}

// Serve serves a on ln.
func Serve(ln net.Listener, a *API) *Server {
	s := &Server{srv: &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("API server stopped", "err", err)
		}
	}()
	return s
}

// Close stops the server.
func (s *Server) Close() {
	s.srv.Close()
	<-s.done
}

func (a *API) list() map[string]Proxy {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]Proxy, len(a.proxies))
	for name, p := range a.proxies {
		out[name] = p.view()
	}
	return out
}

// view is the proxy as replies show it: toxics never null.
func (p *proxy) view() Proxy {
	v := p.Proxy
	v.Toxics = append([]Toxic{}, p.Toxics...)
	return v
}

func decode(body io.Reader, into any) error {
	if err := json.NewDecoder(io.LimitReader(body, 1<<20)).Decode(into); err != nil {
		return errorf(http.StatusBadRequest, "bad request body: %v", err)
	}
	return nil
}

// specOf checks a proxy's listen address and upstream and makes its
// forward.
func specOf(p Proxy) (forward.Spec, error) {
	if p.Name == "" {
		return forward.Spec{}, errorf(http.StatusBadRequest, "missing required field: name")
	}
	if p.Upstream == "" {
		return forward.Spec{}, errorf(http.StatusBadRequest, "missing required field: upstream")
	}
	spec, err := forward.Parse(strings.TrimPrefix(strings.TrimPrefix(p.Listen, "0.0.0.0"), "[::]") + "=" + p.Upstream)
	if err != nil {
		return forward.Spec{}, errorf(http.StatusBadRequest, "proxy %s: %v", p.Name, err)
	}
	return spec, nil
}

func (a *API) create(body io.Reader) (Proxy, error) {
	in := Proxy{Enabled: true}
	if err := decode(body, &in); err != nil {
		return Proxy{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.proxies[in.Name]; ok {
		return Proxy{}, errorf(http.StatusConflict, "proxy already exists")
	}
	return a.addLocked(in)
}

func (a *API) addLocked(in Proxy) (Proxy, error) {
	spec, err := specOf(in)
	if err != nil {
		return Proxy{}, err
	}
	if in.Enabled {
		if err := a.backend.AddForward(spec); err != nil {
			return Proxy{}, errorf(http.StatusConflict, "%v", err)
		}
	}
	p := &proxy{Proxy: Proxy{Name: in.Name, Listen: spec.ListenAddress(), Upstream: in.Upstream, Enabled: in.Enabled}, spec: spec}
	a.proxies[in.Name] = p
	return p.view(), nil
}

func (a *API) populate(body io.Reader) (map[string][]Proxy, error) {
	var list []Proxy
	if err := decode(body, &list); err != nil {
		return nil, err
	}
	out := map[string][]Proxy{"proxies": {}}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, in := range list {
		in.Enabled = true
		if old, ok := a.proxies[in.Name]; ok {
			a.removeLocked(old)
		}
		p, err := a.addLocked(in)
		if err != nil {
			return out, err
		}
		out["proxies"] = append(out["proxies"], p)
	}
	return out, nil
}

func (a *API) get(name string) (*proxy, error) {
	p, ok := a.proxies[name]
	if !ok {
		return nil, errorf(http.StatusNotFound, "proxy not found")
	}
	return p, nil
}

// getToxic is proxy name and the index of its toxic named toxic; a.mu
// held.
func (a *API) getToxic(name, toxic string) (*proxy, int, error) {
	p, err := a.get(name)
	if err != nil {
		return nil, 0, err
	}
	i := slices.IndexFunc(p.Toxics, func(t Toxic) bool { return t.Name == toxic })
	if i < 0 {
		return nil, 0, errorf(http.StatusNotFound, "toxic not found")
	}
	return p, i, nil
}

func (a *API) show(name string) (Proxy, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := a.get(name)
	if err != nil {
		return Proxy{}, err
	}
	return p.view(), nil
}

// update changes a proxy: enabled, listen, upstream.
func (a *API) update(name string, body io.Reader) (Proxy, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := a.get(name)
	if err != nil {
		return Proxy{}, err
	}
	in := p.Proxy
	if err := decode(body, &in); err != nil {
		return Proxy{}, err
	}
	in.Name = name
	spec, err := specOf(in)
	if err != nil {
		return Proxy{}, err
	}
	if p.Enabled && (!in.Enabled || spec != p.spec) {
		a.backend.RemoveForward(p.spec.Port)
		p.Enabled = false
	}
	if in.Enabled && !p.Enabled {
		if err := a.backend.AddForward(spec); err != nil {
			return Proxy{}, errorf(http.StatusConflict, "%v", err)
		}
	}
	if spec.Port != p.spec.Port {
		a.moveToxicsLocked(p, spec.Port)
	}
	p.spec, p.Listen, p.Upstream, p.Enabled = spec, spec.ListenAddress(), in.Upstream, in.Enabled
	return p.view(), nil
}

func (a *API) remove(name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := a.get(name)
	if err != nil {
		return err
	}
	a.removeLocked(p)
	return nil
}

func (a *API) removeLocked(p *proxy) {
	for _, t := range p.Toxics {
		a.backend.Faults().Remove(faultName(p.Name, t.Name))
	}
	if p.Enabled {
		a.backend.RemoveForward(p.spec.Port)
	}
	delete(a.proxies, p.Name)
}

// reset enables every proxy and removes every toxic, as Toxiproxy's
// /reset does.
func (a *API) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range a.proxies {
		for _, t := range p.Toxics {
			a.backend.Faults().Remove(faultName(p.Name, t.Name))
		}
		p.Toxics = nil
		if !p.Enabled && a.backend.AddForward(p.spec) == nil {
			p.Enabled = true
		}
	}
}

func (a *API) toxics(name string) ([]Toxic, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := a.get(name)
	if err != nil {
		return nil, err
	}
	return p.view().Toxics, nil
}

func (a *API) toxic(name, toxic string) (Toxic, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, i, err := a.getToxic(name, toxic)
	if err != nil {
		return Toxic{}, err
	}
	return p.Toxics[i], nil
}

func (a *API) addToxic(name string, body io.Reader) (Toxic, error) {
	in := Toxic{Toxicity: 1, Stream: "downstream"}
	if err := decode(body, &in); err != nil {
		return Toxic{}, err
	}
	if in.Stream == "" {
		in.Stream = "downstream"
	}
	if in.Name == "" {
		in.Name = in.Type + "_" + in.Stream
	}
	if in.Attributes == nil {
		in.Attributes = map[string]any{}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := a.get(name)
	if err != nil {
		return Toxic{}, err
	}
	if slices.ContainsFunc(p.Toxics, func(t Toxic) bool { return t.Name == in.Name }) {
		return Toxic{}, errorf(http.StatusConflict, "toxic already exists")
	}
	f, err := faultOf(p.Name, p.spec.Port, in)
	if err != nil {
		return Toxic{}, err
	}
	if err := a.backend.Faults().Add(f, false); err != nil {
		return Toxic{}, errorf(http.StatusConflict, "%v", err)
	}
	p.Toxics = append(p.Toxics, in)
	return in, nil
}

// updateToxic changes a toxic's toxicity and attributes; those not given
// keep their values.
func (a *API) updateToxic(name, toxic string, body io.Reader) (Toxic, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, i, err := a.getToxic(name, toxic)
	if err != nil {
		return Toxic{}, err
	}
	old := p.Toxics[i]
	var in struct {
		Toxicity   *float64       `json:"toxicity"`
		Attributes map[string]any `json:"attributes"`
	}
	if err := decode(body, &in); err != nil {
		return Toxic{}, err
	}
	next := old
	next.Attributes = map[string]any{}
	for k, v := range old.Attributes {
		next.Attributes[k] = v
	}
	for k, v := range in.Attributes {
		next.Attributes[k] = v
	}
	if in.Toxicity != nil {
		next.Toxicity = *in.Toxicity
	}
	f, err := faultOf(p.Name, p.spec.Port, next)
	if err != nil {
		return Toxic{}, err
	}
	if err := a.backend.Faults().Add(f, true); err != nil {
		return Toxic{}, err
	}
	p.Toxics[i] = next
	return next, nil
}

func (a *API) removeToxic(name, toxic string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, i, err := a.getToxic(name, toxic)
	if err != nil {
		return err
	}
	a.backend.Faults().Remove(faultName(p.Name, toxic))
	p.Toxics = slices.Delete(p.Toxics, i, i+1)
	return nil
}

// moveToxicsLocked puts a proxy's faults on its new port.
func (a *API) moveToxicsLocked(p *proxy, port uint16) {
	for _, t := range p.Toxics {
		if f, err := faultOf(p.Name, port, t); err == nil {
			a.backend.Faults().Add(f, true)
		}
	}
}
