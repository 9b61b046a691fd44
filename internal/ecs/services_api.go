package ecs

import (
	"context"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/ptr"
)

// apiService renders a service as DescribeServices returns it; tasks are
// the cluster's tasks, from which the running and pending counts come.
func (s *Service) apiService(ctx context.Context, r *serviceRec, tasks []taskRec, withTags bool) ecsapi.Service {
	dc := r.Deployment
	out := ecsapi.Service{
		ServiceArn:                    ptr.To(serviceARN(ctx, r.Cluster, r.Name)),
		ServiceName:                   ptr.To(r.Name),
		ClusterArn:                    ptr.To(clusterARN(ctx, r.Cluster)),
		Status:                        ptr.To(r.Status),
		SchedulingStrategy:            ptr.To(r.Strategy),
		DesiredCount:                  ptr.To(r.DesiredCount),
		TaskDefinition:                ptr.To(r.TaskDefinition),
		DeploymentConfiguration:       &dc,
		DeploymentController:          &ecsapi.DeploymentController{Type: ptr.To("ECS")},
		PlacementConstraints:          nonNil(r.Constraints),
		PlacementStrategy:             nonNil(r.Placement),
		NetworkConfiguration:          r.Network,
		HealthCheckGracePeriodSeconds: ptr.To(r.Grace),
		LoadBalancers:                 nonNil(r.LoadBalancers),
		ServiceRegistries:             nonNil(r.Registries),
		PropagateTags:                 ptr.To(r.PropagateTags),
		EnableECSManagedTags:          ptr.To(r.ManagedTags),
		EnableExecuteCommand:          ptr.To(r.ExecuteCommand),
		CreatedAt:                     ptr.To(r.Created),
		Events:                        []ecsapi.ServiceEvent{},
		Deployments:                   []ecsapi.Deployment{},
		CapacityProviderStrategy:      r.CPStrategy,
	}
	if r.PropagateTags == "" {
		out.PropagateTags = ptr.To("NONE")
	}
	if r.LaunchType != "" {
		out.LaunchType = ptr.To(r.LaunchType)
	}
	if r.Platform != "" {
		out.PlatformVersion, out.PlatformFamily = ptr.To(r.Platform), ptr.To("Linux")
	}
	if r.CreatedBy != "" {
		out.CreatedBy = ptr.To(r.CreatedBy)
	}
	if r.Role != "" {
		out.RoleArn = ptr.To(r.Role)
	}
	running, pending := map[string]int32{}, map[string]int32{}
	var nRunning, nPending int32
	group := "service:" + r.Name
	for i := range tasks {
		t := &tasks[i]
		if t.Group != group {
			continue
		}
		switch {
		case t.LastStatus == taskRunning:
			running[t.StartedBy]++
			nRunning++
		case t.DesiredStatus == taskRunning && statusRank(t.LastStatus) < statusRank(taskRunning):
			pending[t.StartedBy]++
			nPending++
		}
	}
	out.RunningCount, out.PendingCount = ptr.To(nRunning), ptr.To(nPending)
	if r.Status != svcInactive {
		for _, d := range r.Deployments {
			ad := ecsapi.Deployment{Id: ptr.To(d.ID), Status: ptr.To(d.Status), TaskDefinition: ptr.To(d.TaskDefinition),
				DesiredCount: ptr.To(d.DesiredCount), RunningCount: ptr.To(running[d.ID]), PendingCount: ptr.To(pending[d.ID]),
				FailedTasks: ptr.To(d.FailedTasks), CreatedAt: ptr.To(d.Created), UpdatedAt: ptr.To(d.Updated),
				NetworkConfiguration: d.Network, CapacityProviderStrategy: d.Strategy}
			if d.RolloutState != "" {
				ad.RolloutState = ptr.To(d.RolloutState)
			}
			if d.RolloutStateReason != "" {
				ad.RolloutStateReason = ptr.To(d.RolloutStateReason)
			}
			if d.LaunchType != "" {
				ad.LaunchType = ptr.To(d.LaunchType)
			}
			if d.PlatformVersion != "" {
				ad.PlatformVersion, ad.PlatformFamily = ptr.To(d.PlatformVersion), ptr.To("Linux")
			}
			out.Deployments = append(out.Deployments, ad)
		}
	}
	for _, e := range r.Events {
		out.Events = append(out.Events, ecsapi.ServiceEvent{Id: ptr.To(e.ID), CreatedAt: ptr.To(e.At), Message: ptr.To(e.Message)})
	}
	if withTags {
		out.Tags = apiTags(r.Tags)
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
