package logs

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// ingestCounts count what PutLogEvents stored, for Prometheus.
type ingestCounts struct {
	events, bytes atomic.Int64
}

func (c *ingestCounts) add(events int, bytes int64) {
	c.events.Add(int64(events))
	c.bytes.Add(bytes)
}

// Collectors are the service's Prometheus instruments (docs/prometheus.md):
// events and bytes ingested since the server started.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "wharf_logs_ingested_events_total",
			Help: "Log events PutLogEvents stored (rejected ones not counted)."},
			func() float64 { return float64(s.ingest.events.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "wharf_logs_ingested_bytes_total",
			Help: "Bytes of the log events PutLogEvents stored, as on disk (message + 24 bytes each)."},
			func() float64 { return float64(s.ingest.bytes.Load()) }),
	}
}
