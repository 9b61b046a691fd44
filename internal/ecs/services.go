package ecs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/placement"
	"github.com/wharfhq/wharf/internal/principal"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
)

// This file serves the service API: CreateService, UpdateService,
// DeleteService, DescribeServices, ListServices. The scheduler that keeps
// services running is services_loop.go; its decisions are internal/ecs/sched.

var serviceNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)

// Fargate platform versions Wharf accepts (it runs every Fargate task on
// the same managed capacity).
var fargatePlatforms = []string{"LATEST", "1.4.0", "1.3.0"}

func serviceNotFound() error  { return errsNew(ErrServiceNotFound, "Service not found.") }
func serviceNotActive() error { return errsNew(ErrServiceNotActive, "Service was not ACTIVE.") }

// svcSpec is what a deployment's tasks are started from.
type svcSpec struct {
	taskDef     string
	launchType  string
	cpStrategy  []ecsapi.CapacityProviderStrategyItem
	platform    string
	network     *ecsapi.NetworkConfiguration
	constraints []ecsapi.PlacementConstraint
	strategies  []ecsapi.PlacementStrategy
}

// checkSpec validates a service's task definition, launch type, network
// and placement against the cluster as RunTask would, and returns the
// resolved task definition ARN and launch type.
func (s *Service) checkSpec(ctx context.Context, tx store.Tx, cluster, strategy string, sp *svcSpec, inactiveOK bool) error {
	if len(sp.constraints) > placement.MaxConstraints {
		return invalidParam("The number of placement constraints cannot exceed %d.", placement.MaxConstraints)
	}
	if len(sp.strategies) > placement.MaxStrategies {
		return invalidParam("The number of placement strategies cannot exceed %d.", placement.MaxStrategies)
	}
	if strategy == "DAEMON" && len(sp.strategies) > 0 {
		return invalidParam("Placement strategies are not supported with the DAEMON scheduling strategy.")
	}
	if sp.launchType != "" && len(sp.cpStrategy) > 0 {
		return invalidParam("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	plan, err := s.planRunOf(ctx, tx, cluster, sp.taskDef, inactiveOK, sp.network, nil, nil, nil, nil, nil)
	if err != nil {
		return err
	}
	cons, strats, err := placementRules(sp.constraints, sp.strategies)
	if err != nil {
		return err
	}
	plan.constraints = append(plan.constraints, cons...)
	plan.strategies = strats
	req := &ecsapi.RunTaskRequest{CapacityProviderStrategy: sp.cpStrategy}
	if sp.launchType != "" {
		req.LaunchType = ptr.To(sp.launchType)
	}
	if err := chooseLaunchType(&plan, req); err != nil {
		return err
	}
	if plan.launchType == "FARGATE" && strategy == "DAEMON" {
		return invalidParam("The DAEMON scheduling strategy is not supported with the FARGATE launch type.")
	}
	switch {
	case sp.platform != "" && plan.launchType != "FARGATE":
		return invalidParam("The platform version must be null when specifying an EC2 launch type.")
	case sp.platform != "" && !slices.Contains(fargatePlatforms, sp.platform):
		return errsNew(ErrPlatformUnknown, "The specified platform does not exist.")
	}
	sp.taskDef = ptr.Value(plan.td.TaskDefinitionArn)
	if len(sp.cpStrategy) == 0 && sp.launchType == "" {
		sp.launchType = plan.launchType
		if plan.provider != "" {
			sp.launchType = ""
			sp.cpStrategy = []ecsapi.CapacityProviderStrategyItem{{CapacityProvider: ptr.To(plan.provider), Weight: ptr.To(int32(1)), Base: ptr.To(int32(0))}}
		}
	}
	return nil
}

func placementRules(cs []ecsapi.PlacementConstraint, ss []ecsapi.PlacementStrategy) ([]placement.Constraint, []placement.Strategy, error) {
	var cons []placement.Constraint
	for _, pc := range cs {
		c, err := placement.NewConstraint(ptr.Value(pc.Type), ptr.Value(pc.Expression))
		if err != nil {
			return nil, nil, invalidParam("%s", err.Error())
		}
		cons = append(cons, c)
	}
	var strats []placement.Strategy
	for _, ps := range ss {
		st, err := placement.NewStrategy(ptr.Value(ps.Type), ptr.Value(ps.Field))
		if err != nil {
			return nil, nil, invalidParam("%s", err.Error())
		}
		strats = append(strats, st)
	}
	return cons, strats, nil
}

// deploymentConfig fills ECS's defaults (REPLICA 100/200, DAEMON 0/100)
// into a deployment configuration and checks it.
func deploymentConfig(strategy string, have *ecsapi.DeploymentConfiguration, in *ecsapi.DeploymentConfiguration) (ecsapi.DeploymentConfiguration, error) {
	var out ecsapi.DeploymentConfiguration
	if have != nil {
		out = *have
	} else if strategy == "DAEMON" {
		out.MinimumHealthyPercent, out.MaximumPercent = ptr.To(int32(0)), ptr.To(int32(100))
	} else {
		out.MinimumHealthyPercent, out.MaximumPercent = ptr.To(int32(100)), ptr.To(int32(200))
	}
	if out.DeploymentCircuitBreaker == nil {
		out.DeploymentCircuitBreaker = &ecsapi.DeploymentCircuitBreaker{Enable: ptr.To(false), Rollback: ptr.To(false)}
	}
	if in != nil {
		if in.MinimumHealthyPercent != nil {
			out.MinimumHealthyPercent = in.MinimumHealthyPercent
		}
		if in.MaximumPercent != nil {
			out.MaximumPercent = in.MaximumPercent
		}
		if cb := in.DeploymentCircuitBreaker; cb != nil {
			out.DeploymentCircuitBreaker = &ecsapi.DeploymentCircuitBreaker{Enable: ptr.To(ptr.Value(cb.Enable)), Rollback: ptr.To(ptr.Value(cb.Rollback))}
		}
		if in.Alarms != nil {
			out.Alarms = in.Alarms
		}
		if s := ptr.Value(in.Strategy); s != "" && s != "ROLLING" {
			return out, invalidParam("Wharf supports the ROLLING deployment strategy only.")
		}
	}
	minP, maxP := ptr.Value(out.MinimumHealthyPercent), ptr.Value(out.MaximumPercent)
	switch {
	case minP < 0 || minP > 100:
		return out, invalidParam("minimumHealthyPercent must be between 0 and 100.")
	case strategy != "DAEMON" && maxP < 100:
		return out, invalidParam("maximumPercent must be at least 100.")
	case maxP < minP:
		return out, invalidParam("maximumPercent must be greater than or equal to minimumHealthyPercent.")
	}
	return out, nil
}

func (s *Service) newDeployment(r *serviceRec) deploymentRec {
	now := s.stamp()
	id := newDeploymentID()
	return deploymentRec{ID: id, Status: "PRIMARY", TaskDefinition: r.TaskDefinition, DesiredCount: r.DesiredCount,
		RolloutState: "IN_PROGRESS", RolloutStateReason: "ECS deployment " + id + " in progress.", Created: now, Updated: now,
		LaunchType: r.LaunchType, Strategy: r.CPStrategy, PlatformVersion: r.Platform, Network: r.Network}
}

// CreateService creates a service and its first deployment; the scheduler
// starts its tasks.
func (s *Service) CreateService(ctx context.Context, in *ecsapi.CreateServiceRequest) (*ecsapi.CreateServiceResponse, error) {
	name := ptr.Value(in.ServiceName)
	if !serviceNameRE.MatchString(name) {
		return nil, invalidParam("Service name can only contain letters (uppercase and lowercase), numbers, hyphens, and underscores, and be at most 255 characters.")
	}
	strategy := ptr.Or(in.SchedulingStrategy, "REPLICA")
	if c := in.DeploymentController; c != nil && ptr.Value(c.Type) != "ECS" {
		return nil, invalidParam("Wharf supports the ECS deployment controller only.")
	}
	if ptr.Value(in.TaskDefinition) == "" {
		return nil, invalidParam("TaskDefinition can not be blank.")
	}
	if len(ptr.Value(in.ClientToken)) > 36 {
		return nil, invalidParam("clientToken must be at most 36 characters.")
	}
	var desired int32
	switch strategy {
	case "DAEMON":
		if in.DesiredCount != nil {
			return nil, invalidParam("The daemon scheduling strategy does not support a desired count for services.")
		}
	default:
		if in.DesiredCount == nil {
			return nil, invalidParam("The desired count must be specified for services with the REPLICA scheduling strategy.")
		}
		desired = *in.DesiredCount
		if desired < 0 {
			return nil, invalidParam("desiredCount must be at least 0.")
		}
	}
	if ptr.Value(in.HealthCheckGracePeriodSeconds) < 0 {
		return nil, invalidParam("healthCheckGracePeriodSeconds must be at least 0.")
	}
	switch pt := ptr.Value(in.PropagateTags); pt {
	case "", "NONE", "SERVICE", "TASK_DEFINITION":
	default:
		return nil, invalidParam("Invalid propagateTags value %s.", pt)
	}
	dc, err := deploymentConfig(strategy, nil, in.DeploymentConfiguration)
	if err != nil {
		return nil, err
	}
	tags, err := mergeTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	if err := s.ensureDefault(ctx, ptr.Value(in.Cluster)); err != nil {
		return nil, err
	}
	var out ecsapi.Service
	err = s.update(ctx, func(tx store.Tx) error {
		c, _, err := loadCluster(ctx, tx, ptr.Value(in.Cluster))
		if err != nil {
			return err
		}
		var old serviceRec
		_, err = getJSON(tx, serviceKey(c.Name, name), &old)
		switch {
		case err != nil && !isNotFound(err):
			return err
		case err == nil && old.Status == svcDraining:
			return invalidParam("Unable to Start a service that is still Draining.")
		case err == nil && old.Status == svcActive:
			if tok := ptr.Value(in.ClientToken); tok != "" && tok == old.ClientToken {
				out, err = s.describeOne(ctx, tx, &old, false)
				return err
			}
			return invalidParam("Creation of service was not idempotent.")
		}
		sp := svcSpec{taskDef: ptr.Value(in.TaskDefinition), launchType: ptr.Value(in.LaunchType), cpStrategy: in.CapacityProviderStrategy,
			platform: ptr.Value(in.PlatformVersion), network: in.NetworkConfiguration, constraints: in.PlacementConstraints, strategies: in.PlacementStrategy}
		if err := s.checkSpec(ctx, tx, c.Name, strategy, &sp, false); err != nil {
			return err
		}
		r := serviceRec{Layout: layoutVersion, Name: name, Cluster: c.Name, Status: svcActive, Strategy: strategy, DesiredCount: desired,
			TaskDefinition: sp.taskDef, LaunchType: sp.launchType, CPStrategy: sp.cpStrategy, Platform: sp.platform, Deployment: dc,
			Constraints: in.PlacementConstraints, Placement: in.PlacementStrategy, Network: in.NetworkConfiguration,
			Grace: ptr.Value(in.HealthCheckGracePeriodSeconds), LoadBalancers: in.LoadBalancers, Registries: in.ServiceRegistries,
			PropagateTags: ptr.Value(in.PropagateTags), ManagedTags: ptr.Value(in.EnableECSManagedTags),
			ExecuteCommand: ptr.Value(in.EnableExecuteCommand), Tags: tags, Role: ptr.Value(in.Role),
			ClientToken: ptr.Value(in.ClientToken), Created: s.stamp()}
		if p := principal.From(ctx); p != nil {
			r.CreatedBy = p.ARN
		}
		if strategy == "DAEMON" {
			// A first count (the scheduler's passes apply the constraints):
			// a waiter called right away must not see 0 of 0 as stable.
			insts, err := scanAll[instanceRec](tx, instancePrefix(c.Name))
			if err != nil {
				return err
			}
			for _, in := range insts {
				if in.Status == statusActive {
					r.DesiredCount++
				}
			}
		}
		if r.LaunchType == "FARGATE" && r.Platform == "" {
			r.Platform = "LATEST"
		}
		r.Deployments = []deploymentRec{s.newDeployment(&r)}
		if err := indexServiceTenant(ctx, tx); err != nil {
			return err
		}
		if err := putJSON(tx, serviceKey(c.Name, name), &r); err != nil {
			return err
		}
		out, err = s.describeOne(ctx, tx, &r, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.wakeScheduler()
	return &ecsapi.CreateServiceResponse{Service: &out}, nil
}

// loadService reads a service of a cluster (any status).
func loadService(ctx context.Context, tx store.Tx, cluster, ident string) (serviceRec, int64, error) {
	var r serviceRec
	name, ok := serviceName(ctx, cluster, ident)
	if !ok {
		return r, 0, serviceNotFound()
	}
	rev, err := getJSON(tx, serviceKey(cluster, name), &r)
	if isNotFound(err) {
		return r, 0, serviceNotFound()
	}
	return r, rev, err
}

// UpdateService changes a service; a new task definition, network
// configuration, launch type or platform, or forceNewDeployment, starts a
// new PRIMARY deployment and the previous ones drain.
func (s *Service) UpdateService(ctx context.Context, in *ecsapi.UpdateServiceRequest) (*ecsapi.UpdateServiceResponse, error) {
	if c := in.DeploymentController; c != nil && ptr.Value(c.Type) != "ECS" {
		return nil, invalidParam("Wharf supports the ECS deployment controller only.")
	}
	var out ecsapi.Service
	err := s.update(ctx, func(tx store.Tx) error {
		c, _, err := loadCluster(ctx, tx, ptr.Value(in.Cluster))
		if err != nil {
			return err
		}
		r, rev, err := loadService(ctx, tx, c.Name, ptr.Value(in.Service))
		if err != nil {
			return err
		}
		if r.Status != svcActive {
			return serviceNotActive()
		}
		if in.DesiredCount != nil {
			if r.Strategy == "DAEMON" {
				return invalidParam("The daemon scheduling strategy does not support a desired count for services.")
			}
			if *in.DesiredCount < 0 {
				return invalidParam("desiredCount must be at least 0.")
			}
			r.DesiredCount = *in.DesiredCount
		}
		if in.HealthCheckGracePeriodSeconds != nil {
			if *in.HealthCheckGracePeriodSeconds < 0 {
				return invalidParam("healthCheckGracePeriodSeconds must be at least 0.")
			}
			r.Grace = *in.HealthCheckGracePeriodSeconds
		}
		if r.Deployment, err = deploymentConfig(r.Strategy, &r.Deployment, in.DeploymentConfiguration); err != nil {
			return err
		}
		sp := svcSpec{taskDef: r.TaskDefinition, launchType: r.LaunchType, cpStrategy: r.CPStrategy, platform: r.Platform,
			network: r.Network, constraints: r.Constraints, strategies: r.Placement}
		if in.TaskDefinition != nil {
			sp.taskDef = *in.TaskDefinition
		}
		if len(in.CapacityProviderStrategy) > 0 {
			sp.cpStrategy, sp.launchType = in.CapacityProviderStrategy, ""
		}
		if in.PlatformVersion != nil {
			sp.platform = *in.PlatformVersion
		}
		if in.NetworkConfiguration != nil {
			sp.network = in.NetworkConfiguration
		}
		if in.PlacementConstraints != nil {
			sp.constraints = in.PlacementConstraints
		}
		if in.PlacementStrategy != nil {
			sp.strategies = in.PlacementStrategy
		}
		// The revision the service runs may have been deregistered since:
		// it still scales, as in ECS; a new one must be ACTIVE.
		if err := s.checkSpec(ctx, tx, c.Name, r.Strategy, &sp, in.TaskDefinition == nil); err != nil {
			return err
		}
		changed := sp.taskDef != r.TaskDefinition || sp.platform != r.Platform || sp.launchType != r.LaunchType ||
			!jsonEqual(sp.network, r.Network) || !jsonEqual(sp.cpStrategy, r.CPStrategy)
		r.TaskDefinition, r.LaunchType, r.CPStrategy, r.Platform, r.Network = sp.taskDef, sp.launchType, sp.cpStrategy, sp.platform, sp.network
		r.Constraints, r.Placement = sp.constraints, sp.strategies
		if in.LoadBalancers != nil {
			r.LoadBalancers = in.LoadBalancers
		}
		if in.ServiceRegistries != nil {
			r.Registries = in.ServiceRegistries
		}
		if in.PropagateTags != nil {
			r.PropagateTags = *in.PropagateTags
		}
		if in.EnableECSManagedTags != nil {
			r.ManagedTags = *in.EnableECSManagedTags
		}
		if in.EnableExecuteCommand != nil {
			r.ExecuteCommand = *in.EnableExecuteCommand
		}
		if changed || ptr.Value(in.ForceNewDeployment) {
			deps := []deploymentRec{s.newDeployment(&r)}
			for _, d := range r.Deployments {
				d.Status = "ACTIVE"
				deps = append(deps, d)
			}
			r.Deployments = deps
			r.StartFailures, r.RetryAt, r.Steady = 0, time.Time{}, false
		} else if r.Strategy != "DAEMON" {
			r.Deployments[0].DesiredCount = r.DesiredCount
		}
		if err := putJSONIf(tx, serviceKey(r.Cluster, r.Name), &r, rev); err != nil {
			return err
		}
		out, err = s.describeOne(ctx, tx, &r, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.wakeScheduler()
	return &ecsapi.UpdateServiceResponse{Service: &out}, nil
}

// DeleteService deletes a service: it turns DRAINING, the scheduler stops
// its tasks, then it is INACTIVE (still describable). A REPLICA service
// with a desired count above zero needs force.
func (s *Service) DeleteService(ctx context.Context, in *ecsapi.DeleteServiceRequest) (*ecsapi.DeleteServiceResponse, error) {
	var out ecsapi.Service
	err := s.update(ctx, func(tx store.Tx) error {
		c, _, err := loadCluster(ctx, tx, ptr.Value(in.Cluster))
		if err != nil {
			return err
		}
		r, rev, err := loadService(ctx, tx, c.Name, ptr.Value(in.Service))
		if err != nil {
			return err
		}
		switch {
		case r.Status == svcInactive:
			return serviceNotActive()
		case r.Status == svcActive && r.Strategy != "DAEMON" && r.DesiredCount > 0 && !ptr.Value(in.Force):
			return invalidParam("The service cannot be stopped while it is scaled above 0.")
		case r.Status == svcActive:
			r.Status, r.DesiredCount, r.Steady = svcDraining, 0, false
			if err := putJSONIf(tx, serviceKey(r.Cluster, r.Name), &r, rev); err != nil {
				return err
			}
		}
		out, err = s.describeOne(ctx, tx, &r, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.wakeScheduler()
	return &ecsapi.DeleteServiceResponse{Service: &out}, nil
}

// DescribeServices describes up to 10 services; unknown ones are MISSING
// failures. INACTIVE services stay describable.
func (s *Service) DescribeServices(ctx context.Context, in *ecsapi.DescribeServicesRequest) (*ecsapi.DescribeServicesResponse, error) {
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, invalidParam("Between 1 and 10 services must be specified.")
	}
	withTags := slices.Contains(in.Include, "TAGS")
	out := &ecsapi.DescribeServicesResponse{Services: []ecsapi.Service{}, Failures: []ecsapi.Failure{}}
	err := s.view(ctx, func(tx store.Tx) error {
		c, _, err := loadCluster(ctx, tx, ptr.Value(in.Cluster))
		if err != nil {
			return err
		}
		var tasks []taskRec
		for _, ident := range in.Services {
			r, _, err := loadService(ctx, tx, c.Name, ident)
			if errors.Is(err, ErrServiceNotFound) {
				a := ident
				if name, ok := serviceName(ctx, c.Name, ident); ok {
					a = serviceARN(ctx, c.Name, name)
				}
				out.Failures = append(out.Failures, ecsapi.Failure{Arn: ptr.To(a), Reason: ptr.To("MISSING")})
				continue
			}
			if err != nil {
				return err
			}
			if tasks == nil {
				if tasks, err = scanAll[taskRec](tx, taskPrefix(c.Name)); err != nil {
					return err
				}
			}
			out.Services = append(out.Services, s.apiService(ctx, &r, tasks, withTags))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// describeOne describes one service inside tx.
func (s *Service) describeOne(ctx context.Context, tx store.Tx, r *serviceRec, withTags bool) (ecsapi.Service, error) {
	tasks, err := scanAll[taskRec](tx, taskPrefix(r.Cluster))
	if err != nil {
		return ecsapi.Service{}, err
	}
	return s.apiService(ctx, r, tasks, withTags), nil
}

// ListServices lists the ARNs of a cluster's ACTIVE and DRAINING services.
func (s *Service) ListServices(ctx context.Context, in *ecsapi.ListServicesRequest) (*ecsapi.ListServicesResponse, error) {
	var recs []serviceRec
	var cluster string
	err := s.view(ctx, func(tx store.Tx) error {
		c, _, err := loadCluster(ctx, tx, ptr.Value(in.Cluster))
		if err != nil {
			return err
		}
		cluster = c.Name
		all, err := scanAll[serviceRec](tx, servicePrefix(c.Name))
		for _, r := range all {
			switch {
			case r.Status == svcInactive:
			case in.SchedulingStrategy != nil && r.Strategy != *in.SchedulingStrategy:
			case in.LaunchType != nil && serviceLaunchType(&r) != *in.LaunchType:
			default:
				recs = append(recs, r)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(recs, func(r serviceRec) string { return r.Name }, in.NextToken, maxResults(in.MaxResults, 10, 100), false)
	if err != nil {
		return nil, err
	}
	out := &ecsapi.ListServicesResponse{ServiceArns: []string{}}
	for _, r := range page {
		out.ServiceArns = append(out.ServiceArns, serviceARN(ctx, cluster, r.Name))
	}
	if next != "" {
		out.NextToken = ptr.To(next)
	}
	return out, nil
}

// serviceLaunchType is the launch type a service's tasks get.
func serviceLaunchType(r *serviceRec) string {
	if r.LaunchType != "" {
		return r.LaunchType
	}
	if len(r.CPStrategy) > 0 {
		return "FARGATE"
	}
	return "EC2"
}

// jsonEqual compares two request values by their encoding.
func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
