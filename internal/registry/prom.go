package registry

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// repoTenants lists the tenants that created a repository, for the
// repository gauge (a scrape has no tenant). Repositories of a tenant
// that made its last one before this index existed are counted once it
// creates another.
var repoTenants = tenancy.NewIndex("registry-tenants")

// blobCensusAge is how long a count of the stored blobs answers scrapes:
// counting walks the blob store (a directory listing and a stat per blob),
// too much to do on every scrape of a large registry.
const blobCensusAge = 5 * time.Minute

var (
	descUploads = prometheus.NewDesc("wharf_registry_uploads_in_progress",
		"Blob upload sessions started and not yet completed, cancelled or expired.", nil, nil)
	descBlobs = prometheus.NewDesc("wharf_registry_blobs",
		"Blobs in the blob store (layers, configs, manifests), counted at most every 5 minutes.", nil, nil)
	descBlobBytes = prometheus.NewDesc("wharf_registry_blob_bytes",
		"Bytes of the blobs in the blob store, counted at most every 5 minutes.", nil, nil)
	descRepos = prometheus.NewDesc("wharf_registry_repositories",
		"Repositories, per account and region.", []string{"account", "region"}, nil)
)

// Collector returns the registry's Prometheus collector
// (docs/prometheus.md).
func (s *Service) Collector() prometheus.Collector { return &promCollector{s: s} }

type promCollector struct {
	s *Service

	mu           sync.Mutex
	at           time.Time
	blobs, bytes int64
}

func (c *promCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descUploads
	ch <- descBlobs
	ch <- descBlobBytes
	ch <- descRepos
}

func (c *promCollector) Collect(ch chan<- prometheus.Metric) {
	ctx := context.Background()
	var uploads int
	err := c.s.st.View(ctx, func(tx store.Tx) (err error) {
		uploads, err = tx.Count(tblUploads, "")
		return err
	})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descUploads, err)
	} else {
		ch <- prometheus.MustNewConstMetric(descUploads, prometheus.GaugeValue, float64(uploads))
	}
	err = repoTenants.ForEach(ctx, c.s.st, func(ctx context.Context) error {
		var n int
		if err := c.s.st.View(ctx, func(tx store.Tx) (err error) {
			n, err = tx.Count(tblRepos, "")
			return err
		}); err != nil {
			return err
		}
		acct, _ := tenancy.Account(ctx)
		region, _ := tenancy.Region(ctx)
		ch <- prometheus.MustNewConstMetric(descRepos, prometheus.GaugeValue, float64(n), acct, region)
		return nil
	})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descRepos, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || time.Since(c.at) >= blobCensusAge {
		var n, b int64
		err := c.s.blobs.Walk(ctx, func(i blobstore.Info) error {
			n++
			b += i.Size
			return nil
		})
		if err != nil {
			ch <- prometheus.NewInvalidMetric(descBlobs, err)
			return
		}
		c.blobs, c.bytes, c.at = n, b, time.Now()
	}
	ch <- prometheus.MustNewConstMetric(descBlobs, prometheus.GaugeValue, float64(c.blobs))
	ch <- prometheus.MustNewConstMetric(descBlobBytes, prometheus.GaugeValue, float64(c.bytes))
}
