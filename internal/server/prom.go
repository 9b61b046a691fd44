package server

import (
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wharfhq/wharf/internal/cloudwatch"
	"github.com/wharfhq/wharf/internal/logs"
	"github.com/wharfhq/wharf/internal/registry"
)

// registerMetrics registers the services' Prometheus collectors and the
// state store's size (docs/prometheus.md). The ECS collector, the edge's
// and the managed agent's are registered where those are built.
func registerMetrics(reg prometheus.Registerer, dataDir string, logsSvc *logs.Service, cw *cloudwatch.Service, registrySvc *registry.Service) {
	reg.MustRegister(logsSvc.Collectors()...)
	reg.MustRegister(cw.Collector(), registrySvc.Collector())
	db := filepath.Join(dataDir, "wharf.db")
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wharf_state_store_bytes",
		Help: "Size of the state store on disk (the SQLite database and its write-ahead log)."}, func() float64 {
		var n int64
		for _, p := range []string{db, db + "-wal"} {
			if fi, err := os.Stat(p); err == nil {
				n += fi.Size()
			}
		}
		return float64(n)
	}))
}
