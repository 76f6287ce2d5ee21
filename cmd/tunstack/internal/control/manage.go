package control

import (
	"fmt"
	"net"
	"sort"

	"github.com/tunstack/tunstack/stack/fault"
)

// Operations that change what the daemon does while it runs: faults
// (`tunstack fault add|list|rm`) and forwards (`tunstack forward
// add|list|rm`).
const (
	OpFaultAdd    = "fault-add"
	OpFaultList   = "fault-list"
	OpFaultRemove = "fault-rm"
	OpForwardAdd  = "forward-add"
	OpForwardList = "forward-list"
	OpForwardRm   = "forward-rm"
)

// FaultSpec is a fault as requests and replies carry it; Attrs are text,
// as the command line takes them ("count": "2", "latency": "200ms").
type FaultSpec struct {
	Name     string            `json:"name,omitempty"`
	Type     string            `json:"type"`
	Port     uint16            `json:"port"`
	Stream   string            `json:"stream,omitempty"`
	Toxicity *float64          `json:"toxicity,omitempty"` // default 1
	Attrs    map[string]string `json:"attributes,omitempty"`
}

// Fault checks the spec and makes the fault.
func (s FaultSpec) Fault() (fault.Fault, error) {
	stream, err := fault.ParseStream(s.Stream)
	if err != nil {
		return fault.Fault{}, err
	}
	toxicity := 1.0
	if s.Toxicity != nil {
		toxicity = *s.Toxicity
	}
	return fault.New(s.Name, fault.Type(s.Type), s.Port, stream, toxicity, s.Attrs)
}

// NewFaultSpec is f as replies carry it.
func NewFaultSpec(f fault.Fault) FaultSpec {
	toxicity := f.Toxicity
	spec := FaultSpec{Name: f.Name, Type: string(f.Type), Port: f.Port, Stream: f.Stream.String(), Toxicity: &toxicity, Attrs: map[string]string{}}
	for _, kv := range f.AttrList() {
		spec.Attrs[kv[0]] = kv[1]
	}
	return spec
}

// String is the fault on one line, as `tunstack fault list` prints it.
func (s FaultSpec) String() string {
	line := fmt.Sprintf("%-24s port %-5d %-12s %-10s", s.Name, s.Port, s.Type, s.Stream)
	if s.Toxicity != nil {
		line += fmt.Sprintf(" toxicity %g", *s.Toxicity)
	}
	keys := make([]string, 0, len(s.Attrs))
	for k := range s.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		line += " " + k + "=" + s.Attrs[k]
	}
	return line
}

// ForwardStatus is a running forward.
type ForwardStatus struct {
	Listen   string `json:"listen"`   // the stack's [ADDR:]PORT
	Upstream string `json:"upstream"` // the server's HOST:PORT
	Active   int    `json:"active"`   // connections being relayed
	Total    int    `json:"total"`    // connections relayed since it started
}

// Manager changes faults and forwards for the server (the daemon).
type Manager interface {
	AddFault(f fault.Fault, replace bool) error
	RemoveFault(name string) error
	ClearFaults()
	Faults() []fault.Fault
	AddForward(spec string) error
	RemoveForward(port uint16) error
	Forwards() []ForwardStatus
}

// SetManager lets the server's clients change faults and forwards; call
// it before Serve.
func (s *Server) SetManager(m Manager) { s.manager = m }

// manage answers the requests of a Manager.
func (s *Server) manage(conn net.Conn, req Request) {
	m := s.manager
	if m == nil {
		writeReply(conn, Reply{Error: "this daemon has no faults or forwards (it runs another engine)"})
		return
	}
	var err error
	reply := Reply{OK: true}
	switch req.Op {
	case OpFaultAdd:
		if req.Fault == nil {
			err = fmt.Errorf("fault-add: no fault")
			break
		}
		var f fault.Fault
		if f, err = req.Fault.Fault(); err == nil {
			err = m.AddFault(f, req.Replace)
			reply.Faults = []FaultSpec{NewFaultSpec(f)}
		}
	case OpFaultRemove:
		if req.All {
			m.ClearFaults()
		} else {
			err = m.RemoveFault(req.Name)
		}
	case OpFaultList:
		reply.Faults = []FaultSpec{}
		for _, f := range m.Faults() {
			reply.Faults = append(reply.Faults, NewFaultSpec(f))
		}
	case OpForwardAdd:
		err = m.AddForward(req.Forward)
	case OpForwardRm:
		err = m.RemoveForward(req.Port)
	case OpForwardList:
		reply.Forwards = m.Forwards()
		if reply.Forwards == nil {
			reply.Forwards = []ForwardStatus{}
		}
	}
	if err != nil {
		reply = Reply{Error: err.Error()}
	}
	writeReply(conn, reply)
}
