package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
)

// The gateway's metrics (`tunstack up --gateway`), from the status
// reply's counters; absent without --gateway.
var (
	gatewayTCPRelayed = prometheus.NewDesc("tunstack_gateway_tcp_connections_total",
		"TCP connections the gateway relayed to their destination.", nil, nil)
	gatewayTCPActive = prometheus.NewDesc("tunstack_gateway_tcp_connections",
		"TCP connections the gateway relays now.", nil, nil)
	gatewayUDPFlows = prometheus.NewDesc("tunstack_gateway_udp_flows_total",
		"UDP flows the gateway relayed.", nil, nil)
	gatewayUDPActive = prometheus.NewDesc("tunstack_gateway_udp_flows",
		"UDP flows the gateway relays now (closed after --gateway-udp-timeout idle).", nil, nil)
	gatewayUDPRefused = prometheus.NewDesc("tunstack_gateway_udp_flows_refused_total",
		"UDP flows not taken: the gateway relayed as many flows as it may at once, none idle 30 s.", nil, nil)
	gatewayUDPEvicted = prometheus.NewDesc("tunstack_gateway_udp_flows_evicted_total",
		"UDP flows idle 30 s or more that the gateway ended early for new ones, at its bound of flows at once.", nil, nil)
	gatewayUDPDatagrams = prometheus.NewDesc("tunstack_gateway_udp_datagrams_total",
		`UDP datagrams the gateway relayed, by direction: "upstream" (client to server), "client".`, []string{"direction"}, nil)
	gatewayBytes = prometheus.NewDesc("tunstack_gateway_bytes_total",
		`Bytes the gateway relayed, by protocol and direction: "upstream" (client to server), "client".`, []string{"protocol", "direction"}, nil)
	gatewayDialFailures = prometheus.NewDesc("tunstack_gateway_dial_failures_total",
		`The gateway's connects to destinations that failed, by protocol and errno ("ECONNREFUSED", "ETIMEDOUT"; UDP: "any").`, []string{"protocol", "errno"}, nil)
)

func describeGateway(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{gatewayTCPRelayed, gatewayTCPActive, gatewayUDPFlows, gatewayUDPActive,
		gatewayUDPRefused, gatewayUDPEvicted, gatewayUDPDatagrams, gatewayBytes, gatewayDialFailures} {
		ch <- d
	}
}

func collectGateway(ch chan<- prometheus.Metric, g *control.GatewayStatus) {
	if g == nil {
		return
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(gatewayTCPRelayed, uint64(g.TCP.Relayed))
	ch <- prometheus.MustNewConstMetric(gatewayTCPActive, prometheus.GaugeValue, float64(g.TCP.Active))
	counter(gatewayUDPFlows, g.UDP.Flows)
	ch <- prometheus.MustNewConstMetric(gatewayUDPActive, prometheus.GaugeValue, float64(g.UDP.Active))
	counter(gatewayUDPRefused, g.UDP.FlowsRefused)
	counter(gatewayUDPEvicted, g.UDP.FlowsEvicted)
	counter(gatewayUDPDatagrams, g.UDP.DatagramsUp, "upstream")
	counter(gatewayUDPDatagrams, g.UDP.DatagramsDown, "client")
	counter(gatewayBytes, g.TCP.BytesToUpstream, "tcp", "upstream")
	counter(gatewayBytes, g.TCP.BytesToClient, "tcp", "client")
	counter(gatewayBytes, g.UDP.BytesToUpstream, "udp", "upstream")
	counter(gatewayBytes, g.UDP.BytesToClient, "udp", "client")
	for errno, n := range g.TCP.DialFailures {
		counter(gatewayDialFailures, n, "tcp", errno)
	}
	counter(gatewayDialFailures, g.UDP.DialFailures, "udp", "any")
}
