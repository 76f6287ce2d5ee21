package control

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tunstack/tunstack/stack"
)

func TestStatusCarriesTheUDPCounters(t *testing.T) {
	b, err := json.Marshal(NewCounterStatus(stack.Counters{UDP: stack.UDPCounters{
		InDatagrams: 1, NoPorts: 2, InErrors: 3, OutDatagrams: 4, RcvbufErrors: 5, InCsumErrors: 6,
		PortUnreachables: 7, PortUnreachablesLimited: 8, ICMPErrors: 9, Sockets: 10,
	}}))
	if err != nil {
		t.Fatal(err)
	}
	want := `"udp":{"in_datagrams":1,"no_ports":2,"in_errors":3,"out_datagrams":4,"rcvbuf_errors":5,"in_csum_errors":6,"port_unreachables":7,"port_unreachables_limited":8,"icmp_errors":9,"sockets":10}`
	if !strings.Contains(string(b), want) {
		t.Errorf("status JSON %s lacks %s", b, want)
	}
}
