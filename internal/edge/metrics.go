package edge

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the edge's Prometheus instruments.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the edge's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wharf_api_requests_total",
			Help: "AWS API requests by service, operation, HTTP status and error code.",
		}, []string{"service", "operation", "status", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wharf_api_request_duration_seconds",
			Help:    "AWS API request latency by service and operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"service", "operation"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

func (m *Metrics) observe(service, op, code string, status int, d time.Duration) {
	m.requests.WithLabelValues(service, op, strconv.Itoa(status), code).Inc()
	m.latency.WithLabelValues(service, op).Observe(d.Seconds())
}
