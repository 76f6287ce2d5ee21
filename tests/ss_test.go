package tests

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// kernelSocket is one line of `ss -tan`: the kernel's view of a TCP socket.
type kernelSocket struct {
	State, Local, Peer string
}

func (s kernelSocket) String() string { return s.State + " " + s.Local + " " + s.Peer }

// parseSS parses the output of `ss -tanH`.
func parseSS(out string) []kernelSocket {
	var sockets []kernelSocket
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		sockets = append(sockets, kernelSocket{State: f[0], Local: f[3], Peer: f[4]})
	}
	return sockets
}

// kernelSockets returns the TCP sockets of namespace ns as the kernel sees them.
func kernelSockets(t *testing.T, ns string) []kernelSocket {
	t.Helper()
	r := runIn(t, ns, nil, "ss", "-tanH")
	if r.err != nil {
		t.Fatalf("ss in %s: %v", ns, r)
	}
	return parseSS(r.stdout)
}

// describeSockets is the state waitFor reports for a list of sockets.
func describeSockets(sockets []kernelSocket) string {
	var b strings.Builder
	for _, s := range sockets {
		b.WriteString("\n  " + s.String())
	}
	return b.String()
}

// findSocket returns the first socket matching all the non-empty fields of want.
func findSocket(sockets []kernelSocket, want kernelSocket) (kernelSocket, bool) {
	for _, s := range sockets {
		if (want.State == "" || s.State == want.State) &&
			(want.Local == "" || s.Local == want.Local) &&
			(want.Peer == "" || s.Peer == want.Peer) {
			return s, true
		}
	}
	return kernelSocket{}, false
}

// tcpCounter reads one of the kernel's TCP counters (the "Tcp:" lines of
// /proc/net/snmp, RFC 4022 names such as EstabResets) in namespace ns.
func tcpCounter(t *testing.T, ns, name string) int {
	t.Helper()
	r := runIn(t, ns, nil, "cat", "/proc/net/snmp")
	if r.err != nil {
		t.Fatalf("reading /proc/net/snmp in %s: %v", ns, r)
	}
	var names []string
	for line := range strings.Lines(r.stdout) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Tcp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		if i := slices.Index(names, name); i > 0 && i < len(f) {
			n, err := strconv.Atoi(f[i])
			if err != nil {
				t.Fatalf("Tcp %s in /proc/net/snmp: %v", name, err)
			}
			return n
		}
	}
	t.Fatalf("no Tcp counter %s in /proc/net/snmp:\n%s", name, r.stdout)
	return 0
}
