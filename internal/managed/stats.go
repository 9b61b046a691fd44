package managed

import (
	"context"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api/wharfagentapi"
	"github.com/wharfhq/wharf/internal/agent"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/ecs"
	"github.com/wharfhq/wharf/internal/ptr"
)

var _ agent.StatsReporter = (*ControlPlane)(nil)

// SubmitStats hands the managed tasks' samples to the ECS service, one
// call per tenant and cluster (the managed capacity runs every tenant's
// FARGATE tasks).
func (c *ControlPlane) SubmitStats(ctx context.Context, stats []agent.TaskStats) (time.Duration, error) {
	type key struct{ account, region, cluster string }
	batches := map[key]*wharfagentapi.SubmitTaskStatsRequest{}
	var order []key
	for _, s := range stats {
		a, err := arn.Parse(s.TaskARN)
		if err != nil {
			continue
		}
		k := key{a.Account, a.Region, clusterOfTask(a.Resource)}
		b := batches[k]
		if b == nil {
			b = &wharfagentapi.SubmitTaskStatsRequest{Cluster: ptr.To(k.cluster)}
			batches[k] = b
			order = append(order, k)
		}
		b.Tasks = append(b.Tasks, wharfagentapi.TaskStats{TaskArn: ptr.To(s.TaskARN), Timestamp: ptr.To(s.Time),
			CpuUnits: ptr.To(max(s.CPUUnits, 0)), MemoryMiB: ptr.To(max(s.MemoryMiB, 0))})
	}
	var next time.Duration
	var firstErr error
	for _, k := range order {
		out, err := c.ECS.SubmitTaskStats(ecs.TenantContext(ctx, k.account, k.region), batches[k])
		if err != nil {
			if firstErr == nil {
				firstErr = classify(err)
			}
			continue
		}
		if out.SampleIntervalSeconds != nil {
			next = time.Duration(*out.SampleIntervalSeconds) * time.Second
		}
	}
	return next, firstErr
}

// clusterOfTask is CLUSTER in a task ARN's resource "task/CLUSTER/ID".
func clusterOfTask(resource string) string {
	cluster, _, _ := strings.Cut(strings.TrimPrefix(resource, "task/"), "/")
	return cluster
}
