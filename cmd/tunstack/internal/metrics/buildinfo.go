package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/version"
)

// newBuildInfo is tunstack_build_info: always 1, with the build's version,
// commit and Go version as labels (`tunstack version` prints the same), so
// that a query can join them to any series of the daemon.
func newBuildInfo(info version.Info) prometheus.Collector {
	commit := info.Revision
	if commit == "" {
		commit = version.Unknown
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "tunstack_build_info",
		Help: "The build of the running tunstack: version, commit (vcs.revision) and goversion; always 1.",
		ConstLabels: prometheus.Labels{
			"version":   info.Version,
			"commit":    commit,
			"goversion": info.GoVersion,
		},
	})
	g.Set(1)
	return g
}
