package ecs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/ecs/sched"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/placement"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
)

// placeEventEvery bounds how often "unable to place a task" (or "failed
// to launch a task") is recorded for one service while it lasts.
const placeEventEvery = time.Minute

// clusterState is what one pass reads of a cluster.
type clusterState struct {
	name      string
	services  []serviceRec
	revs      []int64
	tasks     map[string][]taskRec // by group
	instances []instanceRec
	taskDefs  map[string]*ecsapi.TaskDefinition
}

// reconcileTenant runs the pass over one tenant's clusters.
func (s *Service) reconcileTenant(ctx context.Context, tenant string, pc *passCache, now time.Time, st *PassStats) error {
	var clusters []string
	err := s.view(ctx, func(tx store.Tx) error {
		items, err := tx.Scan(tblECS, "service/", "", 0)
		for _, it := range items {
			c, _, _ := strings.Cut(strings.TrimPrefix(it.Key, "service/"), "/")
			if len(clusters) == 0 || clusters[len(clusters)-1] != c {
				clusters = append(clusters, c)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	var errsList []error
	for _, c := range clusters {
		if err := s.reconcileCluster(ctx, tenant, pc, c, now, st); err != nil {
			errsList = append(errsList, fmt.Errorf("ecs: services of cluster %s: %w", c, err))
		}
	}
	return errors.Join(errsList...)
}

func (s *Service) readCluster(ctx context.Context, tenant string, pc *passCache, name string) (*clusterState, error) {
	cs := &clusterState{name: name, tasks: map[string][]taskRec{}, taskDefs: map[string]*ecsapi.TaskDefinition{}}
	err := s.view(ctx, func(tx store.Tx) error {
		items, err := tx.Scan(tblECS, servicePrefix(name), "", 0)
		if err != nil {
			return err
		}
		for _, it := range items {
			r, err := pc.services.decode(tenant, it)
			if err != nil {
				return err
			}
			if r.Status == svcInactive {
				continue
			}
			cs.services = append(cs.services, r)
			cs.revs = append(cs.revs, it.Revision)
		}
		if len(cs.services) == 0 {
			return nil
		}
		items, err = tx.Scan(tblECS, taskPrefix(name), "", 0)
		if err != nil {
			return err
		}
		for _, it := range items {
			t, err := pc.tasks.decode(tenant, it)
			if err != nil {
				return err
			}
			if strings.HasPrefix(t.Group, "service:") {
				cs.tasks[t.Group] = append(cs.tasks[t.Group], t)
			}
		}
		insts, err := tx.Scan(tblECS, instancePrefix(name), "", 0)
		if err != nil {
			return err
		}
		for _, it := range insts {
			r, err := s.instances.decode(ctx, it)
			if err != nil {
				return err
			}
			if r.Status != statusInactive {
				cs.instances = append(cs.instances, r)
			}
		}
		for _, r := range cs.services {
			for _, d := range r.Deployments {
				if _, ok := cs.taskDefs[d.TaskDefinition]; ok {
					continue
				}
				td, _, err := loadTaskDef(ctx, tx, d.TaskDefinition)
				if err == nil {
					cs.taskDefs[d.TaskDefinition] = &td.Def
				} else {
					cs.taskDefs[d.TaskDefinition] = nil
				}
			}
		}
		return nil
	})
	return cs, err
}

func (s *Service) reconcileCluster(ctx context.Context, tenant string, pc *passCache, cluster string, now time.Time, st *PassStats) error {
	cs, err := s.readCluster(ctx, tenant, pc, cluster)
	if err != nil {
		return err
	}
	pc.stats.observe(tenant, cs)
	var errsList []error
	for i := range cs.services {
		st.Services++
		if err := s.reconcileService(ctx, cs, &cs.services[i], cs.revs[i], now, st); err != nil {
			errsList = append(errsList, fmt.Errorf("service %s: %w", cs.services[i].Name, err))
		}
	}
	return errors.Join(errsList...)
}

// hasHealthCheck says whether a task definition has an essential container
// with a health check.
func hasHealthCheck(td *ecsapi.TaskDefinition) bool {
	if td == nil {
		return false
	}
	for _, c := range td.ContainerDefinitions {
		if ptr.Value(c.Essential) && c.HealthCheck != nil && len(c.HealthCheck.Command) > 0 && c.HealthCheck.Command[0] != "NONE" {
			return true
		}
	}
	return false
}

// containersHealth is a task's health by ECS's rule from its essential
// containers' reports: UNHEALTHY if one is, HEALTHY if all that report are
// and one does, else UNKNOWN.
func containersHealth(cs []containerRec) string {
	healthy := false
	for _, c := range cs {
		if !c.Essential {
			continue
		}
		switch c.HealthStatus {
		case "UNHEALTHY":
			return "UNHEALTHY"
		case "HEALTHY":
			healthy = true
		}
	}
	if healthy {
		return "HEALTHY"
	}
	return "UNKNOWN"
}

// snapshot builds the scheduler's input for one service.
func (s *Service) snapshot(cs *clusterState, r *serviceRec) (sched.Snapshot, error) {
	dc := r.Deployment
	svc := sched.Service{Name: r.Name, Strategy: r.Strategy, Status: r.Status, DesiredCount: int(r.DesiredCount),
		MinHealthyPercent: int(ptr.Value(dc.MinimumHealthyPercent)), MaxPercent: int(ptr.Value(dc.MaximumPercent)),
		GracePeriod: time.Duration(r.Grace) * time.Second, StartFailures: r.StartFailures, RetryAt: r.RetryAt,
		Handled: r.Handled, Steady: r.Steady}
	if cb := dc.DeploymentCircuitBreaker; cb != nil {
		svc.CircuitBreaker, svc.Rollback = ptr.Value(cb.Enable), ptr.Value(cb.Rollback)
	}
	for _, d := range r.Deployments {
		svc.Deployments = append(svc.Deployments, sched.Deployment{ID: d.ID, Status: d.Status, TaskDefinition: d.TaskDefinition,
			DesiredCount: int(d.DesiredCount), RolloutState: d.RolloutState, RolloutStateReason: d.RolloutStateReason,
			FailedTasks: int(d.FailedTasks), Failures: int(d.Failures), CreatedAt: d.Created, UpdatedAt: d.Updated})
	}
	snap := sched.Snapshot{Service: svc}
	for _, t := range cs.tasks["service:"+r.Name] {
		if !s.visible(&t) {
			continue
		}
		st := sched.Task{ID: t.ID, Deployment: t.StartedBy, Instance: t.Instance, LastStatus: t.LastStatus,
			DesiredStatus: t.DesiredStatus, Health: containersHealth(t.Containers), HealthCheck: hasHealthCheck(cs.taskDefs[t.TaskDefARN]),
			StopCode: t.StopCode, Created: t.Created}
		if t.Started != nil {
			st.Started = *t.Started
		}
		if t.Stopped != nil {
			st.Stopped = *t.Stopped
		}
		snap.Tasks = append(snap.Tasks, st)
	}
	if serviceLaunchType(r) == "FARGATE" {
		return snap, nil
	}
	var eligible func(in *instanceRec) bool
	if r.Strategy == "DAEMON" {
		cons, _, err := placementRules(r.Constraints, nil)
		if err != nil {
			return snap, err
		}
		td := cs.taskDefs[r.Deployments[0].TaskDefinition]
		probe := placement.Task{Group: "service:" + r.Name}
		for _, c := range cons {
			if c.Type == placement.MemberOf {
				probe.Constraints = append(probe.Constraints, c)
			}
		}
		if td != nil {
			for _, pc := range td.PlacementConstraints {
				if c, err := placement.NewConstraint(ptr.Value(pc.Type), ptr.Value(pc.Expression)); err == nil && c.Type == placement.MemberOf {
					probe.Constraints = append(probe.Constraints, c)
				}
			}
			for _, a := range td.RequiresAttributes {
				probe.RequiredAttributes = append(probe.RequiredAttributes, placement.Attribute{Name: ptr.Value(a.Name), Value: ptr.Value(a.Value)})
			}
		}
		eligible = func(in *instanceRec) bool {
			pi := placementInstance(in)
			pi.Status, pi.AgentConnected, pi.RemainingCPU, pi.RemainingMemory, pi.RemainingGPU = placement.StatusActive, true, 1<<30, 1<<30, 1<<30
			pls, _ := placement.PlaceOn([]placement.Instance{pi}, probe, []string{pi.ID})
			return len(pls) == 1
		}
	}
	for i := range cs.instances {
		in := &cs.instances[i]
		si := sched.Instance{ID: in.ID, Status: in.Status, Eligible: true}
		if eligible != nil {
			si.Eligible = eligible(in)
		}
		snap.Instances = append(snap.Instances, si)
	}
	return snap, nil
}

// reconcileService plans one service and applies the plan: stops, starts,
// then the service record (at the revision read, so a concurrent
// UpdateService wins and the next pass plans again; only the events of
// what was done are then added).
func (s *Service) reconcileService(ctx context.Context, cs *clusterState, r *serviceRec, rev int64, now time.Time, st *PassStats) error {
	snap, err := s.snapshot(cs, r)
	if err != nil {
		return err
	}
	plan := sched.Decide(snap, now)
	events := slices.Clone(plan.Events)
	for _, stop := range plan.Stop {
		if _, err := s.stopTask(ctx, r.Cluster, stop.TaskID, sched.StopCodeScheduler, stop.Reason); err != nil {
			s.log.Warn("ecs: service scheduler could not stop a task", "service", r.Name, "task", stop.TaskID, "err", err)
			continue
		}
		st.Stopped++
	}
	placeFailed := ""
	for _, start := range plan.Start {
		ids, closest, err := s.startServiceTasks(ctx, r, start)
		var derr *errs.Error
		switch {
		case errors.As(err, &derr) && placeFailed == "":
			// A caller-facing refusal (no FARGATE capacity, an inactive
			// task definition…) is the service's event, as ECS records it.
			placeFailed = sched.LaunchFailedEvent(r.Name, derr.Msg)
		case err != nil:
			s.log.Warn("ecs: service scheduler could not start tasks", "service", r.Name, "err", err)
		}
		if len(ids) > 0 {
			events = append(events, sched.StartedEvent(r.Name, ids))
			st.Started += len(ids)
		}
		if len(ids) < start.Count && err == nil && placeFailed == "" {
			placeFailed = sched.UnableToPlaceEvent(r.Name, closest)
		}
	}
	placeEventAt := r.LastPlaceEvent
	if placeFailed != "" && now.Sub(r.LastPlaceEvent) >= placeEventEvery {
		events = append(events, placeFailed)
		placeEventAt = now
	}
	if len(events) == 0 && !stateChanged(r, &plan) {
		return nil
	}
	return s.update(ctx, func(tx store.Tx) error {
		var cur serviceRec
		curRev, err := getJSON(tx, serviceKey(r.Cluster, r.Name), &cur)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if curRev == rev {
			applyState(&cur, &plan)
			cur.LastPlaceEvent = placeEventAt
			if plan.Inactive {
				cur.Status = svcInactive
			}
		}
		addEvents(&cur, s.stamp(), events)
		return putJSONIf(tx, serviceKey(r.Cluster, r.Name), &cur, curRev)
	})
}

// stateChanged says whether a plan changes what the service record keeps.
func stateChanged(r *serviceRec, p *sched.Plan) bool {
	var tmp serviceRec
	tmp.Deployments = slices.Clone(r.Deployments)
	tmp.TaskDefinition, tmp.DesiredCount, tmp.Status = r.TaskDefinition, r.DesiredCount, r.Status
	applyState(&tmp, p)
	if p.Inactive {
		tmp.Status = svcInactive
	}
	return tmp.Status != r.Status || tmp.DesiredCount != r.DesiredCount || tmp.TaskDefinition != r.TaskDefinition ||
		tmp.StartFailures != r.StartFailures || !tmp.RetryAt.Equal(r.RetryAt) || tmp.Steady != r.Steady ||
		!slices.Equal(tmp.Handled, r.Handled) || !jsonEqual(tmp.Deployments, r.Deployments)
}

// applyState copies the scheduler's state after a pass into a record.
func applyState(r *serviceRec, p *sched.Plan) {
	svc := p.Service
	old := map[string]deploymentRec{}
	for _, d := range r.Deployments {
		old[d.ID] = d
	}
	r.Deployments = r.Deployments[:0:0]
	for _, d := range svc.Deployments {
		rec, ok := old[d.ID]
		if !ok {
			continue
		}
		rec.Status, rec.DesiredCount, rec.RolloutState, rec.RolloutStateReason = d.Status, int32(d.DesiredCount), d.RolloutState, d.RolloutStateReason
		rec.FailedTasks, rec.Failures, rec.Updated = int32(d.FailedTasks), int32(d.Failures), d.UpdatedAt
		r.Deployments = append(r.Deployments, rec)
	}
	if len(r.Deployments) > 0 {
		// After a rollback the service runs the deployment rolled back to.
		p := r.Deployments[0]
		r.TaskDefinition, r.Network, r.LaunchType, r.CPStrategy, r.Platform = p.TaskDefinition, p.Network, p.LaunchType, p.Strategy, p.PlatformVersion
	}
	if r.Strategy == "DAEMON" {
		r.DesiredCount = int32(svc.DesiredCount)
	}
	r.StartFailures, r.RetryAt, r.Handled, r.Steady = svc.StartFailures, svc.RetryAt, svc.Handled, svc.Steady
}

// startServiceTasks starts a plan's tasks of a deployment through RunTask's
// path (planRun, placement, commitRun), with the service's group,
// startedBy the deployment ID, its placement rules and tags. It returns
// the IDs started and, when some could not be placed, ECS's description of
// the closest instance.
func (s *Service) startServiceTasks(ctx context.Context, r *serviceRec, start sched.Start) ([]string, string, error) {
	var dep *deploymentRec
	for i := range r.Deployments {
		if r.Deployments[i].ID == start.Deployment {
			dep = &r.Deployments[i]
		}
	}
	if dep == nil {
		return nil, "", nil
	}
	var propagate *string
	var tags []ecsapi.Tag
	switch r.PropagateTags {
	case "TASK_DEFINITION":
		propagate = ptr.To("TASK_DEFINITION")
	case "SERVICE":
		tags = apiTags(r.Tags)
	}
	cons, strats, err := placementRules(r.Constraints, r.Placement)
	if err != nil {
		return nil, "", err
	}
	for attempt := 0; attempt < maxPlacementAttempts; attempt++ {
		var plan runPlan
		var snap []placement.Instance
		recs, revs := map[string]*instanceRec{}, map[string]int64{}
		err := s.view(ctx, func(tx store.Tx) error {
			var err error
			plan, err = s.planRunOf(ctx, tx, r.Cluster, dep.TaskDefinition, true, dep.Network, nil, ptr.To("service:"+r.Name),
				ptr.To(dep.ID), tags, propagate)
			if err != nil {
				return err
			}
			plan.count, plan.enableExec = start.Count, r.ExecuteCommand
			plan.constraints = append(plan.constraints, cons...)
			plan.strategies = strats
			req := &ecsapi.RunTaskRequest{CapacityProviderStrategy: dep.Strategy}
			if dep.LaunchType != "" {
				req.LaunchType = ptr.To(dep.LaunchType)
			}
			if err := chooseLaunchType(&plan, req); err != nil {
				return err
			}
			if plan.launchType != "EC2" {
				return nil
			}
			insts, err := tx.Scan(tblECS, instancePrefix(r.Cluster), "", 0)
			if err != nil {
				return err
			}
			for _, it := range insts {
				in, err := s.instances.decode(ctx, it)
				if err != nil {
					return err
				}
				if in.Status == statusInactive || start.Instance != "" && in.ID != start.Instance {
					continue
				}
				a := instanceARN(ctx, in.Cluster, in.ID)
				recs[a], revs[a] = &in, it.Revision
				snap = append(snap, snapshotInstance(a, &in))
			}
			return nil
		})
		if err != nil {
			return nil, "", err
		}
		if plan.launchType == "EC2" && len(snap) == 0 {
			return nil, "", nil
		}
		out, err := s.commitRun(ctx, &plan, snap, recs, revs, "")
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		var ids []string
		for _, t := range out.Tasks {
			a := ptr.Value(t.TaskArn)
			ids = append(ids, a[strings.LastIndex(a, "/")+1:])
		}
		return ids, closestInstance(out.Failures), nil
	}
	return nil, "", errsNew(ErrServer, "too many concurrent placements")
}

// closestInstance words the first placement failure as ECS's "closest
// matching" clause.
func closestInstance(fs []ecsapi.Failure) string {
	if len(fs) > 0 {
		f := fs[0]
		a := ptr.Value(f.Arn)
		id := a[strings.LastIndex(a, "/")+1:]
		what := ""
		switch ptr.Value(f.Reason) {
		case placement.ReasonCPU:
			what = "has insufficient CPU units available"
		case placement.ReasonMemory:
			what = "has insufficient memory available"
		case placement.ReasonPorts:
			what = "is already using a port required by your task"
		case placement.ReasonAttribute:
			what = "is missing an attribute required by your task"
		case placement.ReasonAgent:
			what = "has a disconnected agent"
		default:
			what = "does not satisfy the placement constraints"
		}
		return "(container-instance " + id + ") " + what
	}
	return ""
}
