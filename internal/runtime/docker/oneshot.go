package docker

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/wharfhq/wharf/internal/runtime"
)

// ContainerStatsNow is ContainerStats without the engine's second reading:
// a one-shot sample (API 1.41+; older engines ignore the flag and take the
// second reading). It answers at once instead of after about a second, but
// CPUPercent is 0 (precpu_stats is empty): a caller that kept the previous
// sample's CPUTotalNanos computes CPU from the difference (the agent's
// stats sampler does).
func (c *Client) ContainerStatsNow(ctx context.Context, id string) (runtime.Stats, error) {
	var v struct {
		Read     string
		CPUStats cpuStats `json:"cpu_stats"`
		Memory   struct {
			Usage uint64
			Limit uint64
			Stats map[string]uint64
		} `json:"memory_stats"`
	}
	q := url.Values{"stream": {"0"}, "one-shot": {"1"}}
	if err := c.call(ctx, http.MethodGet, "/containers/"+url.PathEscape(id)+"/stats", q, nil, &v); err != nil {
		return runtime.Stats{}, fmt.Errorf("stats %s: %w", id, err)
	}
	t := engineTime(v.Read)
	if t.IsZero() {
		return runtime.Stats{}, fmt.Errorf("stats %s: %w: not running", id, runtime.ErrConflict)
	}
	s := runtime.Stats{Time: t, CPUTotalNanos: v.CPUStats.Usage.Total, OnlineCPUs: max(v.CPUStats.Online, 1),
		MemoryLimitBytes: v.Memory.Limit, MemoryUsageBytes: v.Memory.Usage}
	// Page cache is not "in use": inactive_file (cgroup v2), else
	// total_inactive_file (v1), as ContainerStats and `docker stats`.
	cache := v.Memory.Stats["inactive_file"]
	if cache == 0 {
		cache = v.Memory.Stats["total_inactive_file"]
	}
	if cache < s.MemoryUsageBytes {
		s.MemoryUsageBytes -= cache
	}
	return s, nil
}
