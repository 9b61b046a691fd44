package cloudwatch

import (
	"context"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// ingestCounts count the metric data stored, for Prometheus: from
// PutMetricData (api) and from Wharf itself (Publish: AWS/ECS…).
type ingestCounts struct {
	api, wharf atomic.Int64
}

var (
	descIngested = prometheus.NewDesc("wharf_cloudwatch_datapoints_ingested_total",
		"MetricDatum entries stored, by source: api (PutMetricData) or wharf (what Wharf publishes itself: AWS/ECS). A datum with a Values array or a statistic set counts once.",
		[]string{"source"}, nil)
	descAlarms = prometheus.NewDesc("wharf_cloudwatch_alarms",
		"Metric alarms by state (OK, ALARM, INSUFFICIENT_DATA).", []string{"account", "region", "state"}, nil)
)

// Collector returns the service's Prometheus collector (docs/prometheus.md).
// A scrape reads the alarms (a few thousand per account at most; the
// evaluation loop reads them every tick anyway).
func (s *Service) Collector() prometheus.Collector { return promCollector{s} }

type promCollector struct{ s *Service }

func (c promCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descIngested
	ch <- descAlarms
}

func (c promCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descIngested, prometheus.CounterValue, float64(c.s.ingest.api.Load()), "api")
	ch <- prometheus.MustNewConstMetric(descIngested, prometheus.CounterValue, float64(c.s.ingest.wharf.Load()), "wharf")
	err := tenants.ForEach(context.Background(), c.s.st, func(ctx context.Context) error {
		counts := map[string]int{StateOK: 0, StateAlarm: 0, StateInsufficientData: 0}
		err := c.s.st.View(ctx, func(tx store.Tx) error {
			all, err := listAlarms(tx, "")
			for _, d := range all {
				counts[deref(d.Alarm.StateValue)]++
			}
			return err
		})
		if err != nil {
			return err
		}
		acct, _ := tenancy.Account(ctx)
		region, _ := tenancy.Region(ctx)
		for state, n := range counts {
			ch <- prometheus.MustNewConstMetric(descAlarms, prometheus.GaugeValue, float64(n), acct, region, state)
		}
		return nil
	})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descAlarms, err)
	}
}
