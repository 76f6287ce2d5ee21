package control

// GatewayStatus is the gateway's relays in a status reply (`tunstack up
// --gateway`); absent without it:
//
//	"gateway": {"tcp": {"active":1,"relayed":7,"bytes_to_upstream":13,
//	  "bytes_to_client":67108864,"dial_failures":{"ECONNREFUSED":1,"ETIMEDOUT":2}},
//	  "udp": {"active":1,"flows":1,"datagrams_up":1,"datagrams_down":1,...}}
type GatewayStatus struct {
	TCP GatewayTCPStatus `json:"tcp"`
	UDP GatewayUDPStatus `json:"udp"`
}

// GatewayTCPStatus counts the relayed TCP connections.
type GatewayTCPStatus struct {
	Active          int               `json:"active"`
	Relayed         int               `json:"relayed"`
	BytesToUpstream uint64            `json:"bytes_to_upstream"`
	BytesToClient   uint64            `json:"bytes_to_client"`
	DialFailures    map[string]uint64 `json:"dial_failures,omitempty"` // by errno name
}

// GatewayUDPStatus counts the relayed UDP flows.
type GatewayUDPStatus struct {
	Active          int    `json:"active"`
	Flows           uint64 `json:"flows"`
	FlowsRefused    uint64 `json:"flows_refused"` // the bound of flows at once was reached, none idle
	FlowsEvicted    uint64 `json:"flows_evicted"` // idle flows ended for new ones at the bound
	DatagramsUp     uint64 `json:"datagrams_up"`
	DatagramsDown   uint64 `json:"datagrams_down"`
	BytesToUpstream uint64 `json:"bytes_to_upstream"`
	BytesToClient   uint64 `json:"bytes_to_client"`
	DialFailures    uint64 `json:"dial_failures"`
}
