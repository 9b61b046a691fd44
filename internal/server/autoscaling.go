package server

import (
	"context"
	"errors"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/autoscaling"
	"github.com/wharfhq/wharf/internal/cloudwatch"
	"github.com/wharfhq/wharf/internal/ecs"
	"github.com/wharfhq/wharf/internal/store"
)

// newAutoScaling builds Application Auto Scaling over the in-process ECS
// and CloudWatch services and installs it as CloudWatch's hook for alarm
// actions that name scaling policies.
func newAutoScaling(cfg Config, st store.Store, ecsSvc *ecs.Service, cw *cloudwatch.Service) *autoscaling.Service {
	as := autoscaling.New(autoscaling.Options{Store: st, CloudWatch: cw, Scaler: ecsScaler{ecsSvc}, Now: cfg.Now,
		Logger: cfg.Logger, TargetTrackingPeriod: cfg.TargetTrackingPeriod, Tick: cfg.AutoScalingTick})
	cw.SetOnAlarmAction(as.HandleAlarmAction)
	return as
}

// ecsScaler is auto scaling's view of an ECS service: its desired count.
type ecsScaler struct{ ecs *ecs.Service }

func (e ecsScaler) Capacity(ctx context.Context, cluster, service string) (int, bool, error) {
	out, err := e.ecs.DescribeServices(ctx, &ecsapi.DescribeServicesRequest{Cluster: &cluster, Services: []string{service}})
	if errors.Is(err, ecs.ErrClusterNotFound) {
		return 0, false, autoscaling.ErrServiceNotFound
	}
	if err != nil {
		return 0, false, err
	}
	if len(out.Services) == 0 || out.Services[0].Status == nil || *out.Services[0].Status != "ACTIVE" {
		return 0, false, autoscaling.ErrServiceNotFound
	}
	svc := out.Services[0]
	// A deployment is in progress while the primary rolls out or an older
	// one still runs tasks: ECS pauses scale-in then.
	deploying := len(svc.Deployments) > 1
	for _, d := range svc.Deployments {
		if d.RolloutState != nil && *d.RolloutState == "IN_PROGRESS" {
			deploying = true
		}
	}
	n := 0
	if svc.DesiredCount != nil {
		n = int(*svc.DesiredCount)
	}
	return n, deploying, nil
}

func (e ecsScaler) SetCapacity(ctx context.Context, cluster, service string, desired int) error {
	n := int32(desired)
	_, err := e.ecs.UpdateService(ctx, &ecsapi.UpdateServiceRequest{Cluster: &cluster, Service: &service, DesiredCount: &n})
	if errors.Is(err, ecs.ErrServiceNotFound) || errors.Is(err, ecs.ErrServiceNotActive) || errors.Is(err, ecs.ErrClusterNotFound) {
		return autoscaling.ErrServiceNotFound
	}
	return err
}
