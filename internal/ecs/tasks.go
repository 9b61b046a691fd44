package ecs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/arn"
	"github.com/wharfhq/wharf/internal/placement"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// maxPlacementAttempts bounds the optimistic-concurrency retries of one
// RunTask: each attempt places on a fresh snapshot and commits only if no
// instance it chose changed meanwhile.
const maxPlacementAttempts = 20

func taskARN(ctx context.Context, cluster, id string) string {
	a, _ := arn.Regional(ctx, "ecs", "task/"+cluster+"/"+id)
	return a
}

// taskID resolves a task identifier (ID or ARN) within a cluster.
func taskID(ctx context.Context, cluster, ident string) (string, bool) {
	return clusterScopedID(ctx, "task/", cluster, ident)
}

// visible reports whether a task is still served: stopped tasks are kept
// for the retention period.
func (s *Service) visible(t *taskRec) bool {
	return t.Stopped == nil || s.now().Before(t.Stopped.Add(s.retention))
}

func (s *Service) apiTask(ctx context.Context, t *taskRec, withTags bool) ecsapi.Task {
	out := ecsapi.Task{
		TaskArn:              ptr.To(taskARN(ctx, t.Cluster, t.ID)),
		ClusterArn:           ptr.To(clusterARN(ctx, t.Cluster)),
		TaskDefinitionArn:    ptr.To(t.TaskDefARN),
		LastStatus:           ptr.To(t.LastStatus),
		DesiredStatus:        ptr.To(t.DesiredStatus),
		LaunchType:           ptr.To(t.LaunchType),
		Group:                ptr.To(t.Group),
		Cpu:                  ptr.To(t.CPU),
		Memory:               ptr.To(t.Memory),
		CreatedAt:            ptr.To(t.Created),
		PullStartedAt:        t.PullStarted,
		PullStoppedAt:        t.PullStopped,
		StartedAt:            t.Started,
		StoppingAt:           t.Stopping,
		StoppedAt:            t.Stopped,
		ExecutionStoppedAt:   t.ExecStopped,
		ConnectivityAt:       t.Connected,
		Version:              ptr.To(t.Version),
		HealthStatus:         ptr.To(taskHealth(t.Containers)),
		Overrides:            t.Overrides,
		Attachments:          slices.Clone(t.Attachments),
		Attributes:           []ecsapi.Attribute{},
		EnableExecuteCommand: ptr.To(t.EnableExec),
		EphemeralStorage:     t.EphemeralStorage,
		Containers:           []ecsapi.Container{},
	}
	if out.Overrides == nil {
		out.Overrides = &ecsapi.TaskOverride{ContainerOverrides: []ecsapi.ContainerOverride{}}
	}
	if out.Attachments == nil {
		out.Attachments = []ecsapi.Attachment{}
	}
	if t.Connected != nil {
		out.Connectivity = ptr.To("CONNECTED")
	}
	if t.Instance != "" {
		out.ContainerInstanceArn = ptr.To(instanceARN(ctx, t.Cluster, t.Instance))
	}
	if t.AZ != "" {
		out.AvailabilityZone = ptr.To(t.AZ)
	}
	if t.CapacityProvider != "" {
		out.CapacityProviderName = ptr.To(t.CapacityProvider)
	}
	if t.LaunchType == "FARGATE" {
		out.PlatformVersion, out.PlatformFamily = ptr.To("1.4.0"), ptr.To("Linux")
	}
	if t.StartedBy != "" {
		out.StartedBy = ptr.To(t.StartedBy)
	}
	if t.StopCode != "" {
		out.StopCode = ptr.To(t.StopCode)
	}
	if t.StoppedReason != "" {
		out.StoppedReason = ptr.To(t.StoppedReason)
	}
	for _, c := range t.Containers {
		ac := ecsapi.Container{
			ContainerArn:    ptr.To(fmt.Sprintf("%s/%s", strings.Replace(taskARN(ctx, t.Cluster, t.ID), ":task/", ":container/", 1), c.ID)),
			TaskArn:         out.TaskArn,
			Name:            ptr.To(c.Name),
			Image:           ptr.To(c.Image),
			LastStatus:      ptr.To(c.LastStatus),
			ExitCode:        c.ExitCode,
			Cpu:             ptr.To(strconv.Itoa(int(c.CPU))),
			NetworkBindings: slices.Clone(c.NetworkBindings),
			HealthStatus:    ptr.To(c.HealthStatus),
			GpuIds:          slices.Clone(c.GPUIDs),
		}
		if c.HealthStatus == "" {
			ac.HealthStatus = ptr.To("UNKNOWN")
		}
		if ac.NetworkBindings == nil {
			ac.NetworkBindings = []ecsapi.NetworkBinding{}
		}
		if c.Memory != nil {
			ac.Memory = ptr.To(strconv.Itoa(int(*c.Memory)))
		}
		if c.Reservation != nil {
			ac.MemoryReservation = ptr.To(strconv.Itoa(int(*c.Reservation)))
		}
		if c.Reason != "" {
			ac.Reason = ptr.To(c.Reason)
		}
		if c.RuntimeID != "" {
			ac.RuntimeId = ptr.To(c.RuntimeID)
		}
		if c.ImageDigest != "" {
			ac.ImageDigest = ptr.To(c.ImageDigest)
		}
		ac.NetworkInterfaces = containerInterfaces(t)
		out.Containers = append(out.Containers, ac)
	}
	if withTags {
		out.Tags = apiTags(t.Tags)
	}
	return out
}

// runPlan is a validated RunTask or StartTask request.
type runPlan struct {
	cluster     clusterRec
	td          ecsapi.TaskDefinition
	launchType  string
	provider    string
	count       int
	group       string
	startedBy   string
	overrides   *ecsapi.TaskOverride
	constraints []placement.Constraint
	strategies  []placement.Strategy
	tags        []tag
	awsvpc      *ecsapi.AwsVpcConfiguration
	enableExec  bool
}

// planRun checks what RunTask and StartTask share, against the cluster and
// task definition read in tx.
func (s *Service) planRun(ctx context.Context, tx store.Tx, cluster, taskDef string, net *ecsapi.NetworkConfiguration,
	ov *ecsapi.TaskOverride, group, startedBy *string, tags []ecsapi.Tag, propagate *string) (runPlan, error) {
	return s.planRunOf(ctx, tx, cluster, taskDef, false, net, ov, group, startedBy, tags, propagate)
}

// planRunOf is planRun; inactiveOK accepts an INACTIVE task definition, as
// services keep running (and scaling) the revision they were deployed with
// after it is deregistered.
func (s *Service) planRunOf(ctx context.Context, tx store.Tx, cluster, taskDef string, inactiveOK bool, net *ecsapi.NetworkConfiguration,
	ov *ecsapi.TaskOverride, group, startedBy *string, tags []ecsapi.Tag, propagate *string) (runPlan, error) {
	var p runPlan
	c, _, err := loadCluster(ctx, tx, cluster)
	if err != nil {
		return p, err
	}
	td, _, err := loadTaskDef(ctx, tx, taskDef)
	if err != nil {
		return p, invalidParam("Unable to find task definition '%s'.", taskDef)
	}
	if st := ptr.Value(td.Def.Status); st != tdActive && !(inactiveOK && st == tdInactive) {
		return p, invalidParam("TaskDefinition is inactive")
	}
	p.cluster, p.td = c, td.Def
	family := ptr.Value(td.Def.Family)
	p.group = ptr.Or(group, "family:"+family)
	p.startedBy = ptr.Value(startedBy)
	if len(p.startedBy) > 128 {
		return p, invalidParam("startedBy must be at most 128 characters.")
	}
	if ov != nil {
		for _, co := range ov.ContainerOverrides {
			name := ptr.Value(co.Name)
			if !slices.ContainsFunc(td.Def.ContainerDefinitions, func(c ecsapi.ContainerDefinition) bool { return ptr.Value(c.Name) == name }) {
				return p, invalidParam("Override for container named %s is not a container in the TaskDefinition.", name)
			}
		}
		if ov.Cpu != nil {
			if _, ok := parseTaskCPU(*ov.Cpu); !ok {
				return p, invalidParam("Invalid 'cpu' override.")
			}
		}
		if ov.Memory != nil {
			if _, ok := parseTaskMemory(*ov.Memory); !ok {
				return p, invalidParam("Invalid 'memory' override.")
			}
		}
		p.overrides = ov
	}
	if p.tags, err = mergeTags(nil, tags); err != nil {
		return p, err
	}
	if ptr.Value(propagate) == "TASK_DEFINITION" {
		if p.tags, err = mergeTags(td.Tags, apiTags(p.tags)); err != nil {
			return p, err
		}
	}
	awsvpc := ptr.Value(td.Def.NetworkMode) == "awsvpc"
	hasNet := net != nil && net.AwsvpcConfiguration != nil
	switch {
	case awsvpc && (!hasNet || len(net.AwsvpcConfiguration.Subnets) == 0):
		return p, invalidParam("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	case !awsvpc && hasNet:
		return p, invalidParam("Network Configuration is not valid for the given networkMode of this task definition.")
	case awsvpc:
		p.awsvpc = net.AwsvpcConfiguration
	}
	for _, pc := range td.Def.PlacementConstraints {
		cons, err := placement.NewConstraint(ptr.Value(pc.Type), ptr.Value(pc.Expression))
		if err != nil {
			return p, invalidParam("%s", err.Error())
		}
		p.constraints = append(p.constraints, cons)
	}
	return p, nil
}

// newTask builds the record of one task of plan.
func (s *Service) newTask(ctx context.Context, p *runPlan, d demand) taskRec {
	now := s.stamp()
	t := taskRec{Layout: layoutVersion, ID: newID(), Cluster: p.cluster.Name, TaskDefARN: ptr.Value(p.td.TaskDefinitionArn),
		Family: ptr.Value(p.td.Family), LaunchType: p.launchType, CapacityProvider: p.provider, LastStatus: "PROVISIONING",
		DesiredStatus: taskRunning, Group: p.group, StartedBy: p.startedBy, ReservedCPU: d.cpu, ReservedMemory: d.memory,
		CPU: strconv.Itoa(d.cpu), Memory: strconv.Itoa(d.memory), Overrides: p.overrides, Tags: p.tags, Created: now,
		Version: 1, EnableExec: p.enableExec, EphemeralStorage: p.td.EphemeralStorage}
	if p.launchType == "EC2" && p.awsvpc == nil {
		t.LastStatus = taskPending
	}
	over := map[string]ecsapi.ContainerOverride{}
	if p.overrides != nil {
		for _, co := range p.overrides.ContainerOverrides {
			over[ptr.Value(co.Name)] = co
		}
	}
	for _, c := range p.td.ContainerDefinitions {
		co := over[ptr.Value(c.Name)]
		cr := containerRec{ID: newID(), Name: ptr.Value(c.Name), Image: ptr.Value(c.Image), LastStatus: taskPending,
			CPU: ptr.Value(c.Cpu), Memory: c.Memory, Reservation: c.MemoryReservation, Essential: ptr.Value(c.Essential),
			HealthCheck: c.HealthCheck != nil}
		if co.Cpu != nil {
			cr.CPU = *co.Cpu
		}
		if co.Memory != nil {
			cr.Memory = co.Memory
		}
		if co.MemoryReservation != nil {
			cr.Reservation = co.MemoryReservation
		}
		t.Containers = append(t.Containers, cr)
	}
	if p.awsvpc != nil {
		t.Attachments = []ecsapi.Attachment{{Id: ptr.To(newID()), Type: ptr.To("ElasticNetworkInterface"), Status: ptr.To("PRECREATED"),
			Details: []ecsapi.KeyValuePair{{Name: ptr.To("subnetId"), Value: ptr.To(p.awsvpc.Subnets[0])}}}}
	}
	if p.launchType == "FARGATE" {
		region, _ := tenancy.Region(ctx)
		t.AZ = region + "a"
	}
	return t
}

// bindPorts records the host ports placement chose on the task and its
// containers' network bindings.
func bindPorts(t *taskRec, d demand, hostPorts []int) {
	for i, hp := range hostPorts {
		m := d.mappings[i]
		if m.protocol == "udp" {
			t.UDPPorts = append(t.UDPPorts, hp)
		} else {
			t.TCPPorts = append(t.TCPPorts, hp)
		}
		for j := range t.Containers {
			if t.Containers[j].Name == m.container {
				t.Containers[j].NetworkBindings = append(t.Containers[j].NetworkBindings, ecsapi.NetworkBinding{
					BindIP: ptr.To("0.0.0.0"), ContainerPort: ptr.To(m.containerPort), HostPort: ptr.To(int32(hp)), Protocol: ptr.To(m.protocol)})
			}
		}
	}
}

// RunTask starts count tasks of a definition: on Wharf-managed capacity
// for FARGATE, else on container instances chosen by the placement engine.
func (s *Service) RunTask(ctx context.Context, in *ecsapi.RunTaskRequest) (*ecsapi.RunTaskResponse, error) {
	count := int(ptr.Or(in.Count, 1))
	if count < 1 || count > 10 {
		return nil, invalidParam("count must be between 1 and 10.")
	}
	if in.LaunchType != nil && len(in.CapacityProviderStrategy) > 0 {
		return nil, invalidParam("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	if len(in.PlacementConstraints) > placement.MaxConstraints {
		return nil, invalidParam("The number of placement constraints cannot exceed %d.", placement.MaxConstraints)
	}
	if len(in.PlacementStrategy) > placement.MaxStrategies {
		return nil, invalidParam("The number of placement strategies cannot exceed %d.", placement.MaxStrategies)
	}
	var extraCons []placement.Constraint
	for _, pc := range in.PlacementConstraints {
		c, err := placement.NewConstraint(ptr.Value(pc.Type), ptr.Value(pc.Expression))
		if err != nil {
			return nil, invalidParam("%s", err.Error())
		}
		extraCons = append(extraCons, c)
	}
	var strategies []placement.Strategy
	for _, ps := range in.PlacementStrategy {
		st, err := placement.NewStrategy(ptr.Value(ps.Type), ptr.Value(ps.Field))
		if err != nil {
			return nil, invalidParam("%s", err.Error())
		}
		strategies = append(strategies, st)
	}
	token := ptr.Value(in.ClientToken)
	if err := s.ensureDefault(ctx, ptr.Value(in.Cluster)); err != nil {
		return nil, err
	}
	for attempt := 0; attempt < maxPlacementAttempts; attempt++ {
		var out *ecsapi.RunTaskResponse
		var plan runPlan
		var snap []placement.Instance
		var recs map[string]*instanceRec
		var revs map[string]int64
		// Read: the plan and a snapshot of the candidate instances.
		err := s.view(ctx, func(tx store.Tx) error {
			if token != "" {
				var tok tokenRec
				if _, err := getJSON(tx, clientTokenKey(token), &tok); err == nil {
					out = &ecsapi.RunTaskResponse{Failures: []ecsapi.Failure{}}
					for _, id := range tok.Tasks {
						var t taskRec
						if _, err := getJSON(tx, taskKey(tok.Cluster, id), &t); err == nil {
							out.Tasks = append(out.Tasks, s.apiTask(ctx, &t, true))
						}
					}
					return nil
				} else if !isNotFound(err) {
					return err
				}
			}
			var err error
			plan, err = s.planRun(ctx, tx, ptr.Value(in.Cluster), ptr.Value(in.TaskDefinition), in.NetworkConfiguration,
				in.Overrides, in.Group, in.StartedBy, in.Tags, in.PropagateTags)
			if err != nil {
				return err
			}
			plan.count, plan.enableExec = count, ptr.Value(in.EnableExecuteCommand)
			plan.constraints = append(plan.constraints, extraCons...)
			plan.strategies = strategies
			if err := chooseLaunchType(&plan, in); err != nil {
				return err
			}
			if plan.launchType != "EC2" {
				return nil
			}
			insts, err := tx.Scan(tblECS, instancePrefix(plan.cluster.Name), "", 0)
			if err != nil {
				return err
			}
			recs, revs = map[string]*instanceRec{}, map[string]int64{}
			for _, it := range insts {
				r, err := s.instances.decode(ctx, it)
				if err != nil {
					return err
				}
				if r.Status == statusInactive || !r.Connected {
					continue // ECS places no task on an instance whose agent is disconnected
				}
				a := instanceARN(ctx, r.Cluster, r.ID)
				recs[a], revs[a] = &r, it.Revision
				snap = append(snap, snapshotInstance(a, &r))
			}
			if len(snap) == 0 {
				return invalidParam("No Container Instances were found in your cluster.")
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if out != nil {
			return out, nil
		}
		out, err = s.commitRun(ctx, &plan, snap, recs, revs, token)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return out, err
	}
	return nil, errsNew(ErrServer, "Too many concurrent placements on this cluster; try again.")
}

// ensureDefault creates the default cluster when a request names none and
// it does not exist yet, as ECS does on first use.
func (s *Service) ensureDefault(ctx context.Context, cluster string) error {
	if cluster != "" {
		return nil
	}
	return s.update(ctx, func(tx store.Tx) error {
		_, _, err := s.ensureCluster(ctx, tx, "")
		return err
	})
}

// chooseLaunchType resolves the launch type: explicit, from a capacity
// provider strategy, from the cluster's default strategy, else EC2.
func chooseLaunchType(p *runPlan, in *ecsapi.RunTaskRequest) error {
	strategy := in.CapacityProviderStrategy
	switch {
	case in.LaunchType != nil:
		p.launchType = *in.LaunchType
	case len(strategy) > 0 || len(p.cluster.Strategy) > 0:
		if len(strategy) == 0 {
			for _, it := range p.cluster.Strategy {
				strategy = append(strategy, ecsapi.CapacityProviderStrategyItem{CapacityProvider: ptr.To(it.Provider), Weight: ptr.To(it.Weight), Base: ptr.To(it.Base)})
			}
		}
		for _, it := range strategy {
			if !slices.Contains(builtinProviders, ptr.Value(it.CapacityProvider)) {
				return invalidParam("The specified capacity provider %s was not found.", ptr.Value(it.CapacityProvider))
			}
		}
		p.launchType, p.provider = "FARGATE", ptr.Value(strategy[0].CapacityProvider)
	default:
		p.launchType = "EC2"
	}
	switch p.launchType {
	case "FARGATE":
		if !slices.Contains(p.td.Compatibilities, "FARGATE") {
			return invalidParam("Task definition does not support launch_type FARGATE.")
		}
		if len(p.constraints) > 0 || len(p.strategies) > 0 {
			return invalidParam("Placement constraints and strategies are not supported with the FARGATE launch type.")
		}
	case "EC2", "EXTERNAL":
		p.launchType = "EC2"
	default:
		return invalidParam("Launch type %s is not supported.", p.launchType)
	}
	return nil
}

// commitRun places the plan's tasks on the snapshot (EC2) and writes the
// tasks and the instances they use, each instance only if its revision is
// still the one the snapshot was read at (store.ErrConflict otherwise).
func (s *Service) commitRun(ctx context.Context, p *runPlan, snap []placement.Instance, recs map[string]*instanceRec,
	revs map[string]int64, token string) (*ecsapi.RunTaskResponse, error) {
	out := &ecsapi.RunTaskResponse{Tasks: []ecsapi.Task{}, Failures: []ecsapi.Failure{}}
	d := taskDemand(&p.td, p.overrides)
	var tasks []taskRec
	touched := map[string]bool{}
	if p.launchType == "FARGATE" {
		if err := s.checkManagedCapacity(ctx); err != nil {
			return nil, err
		}
		for range p.count {
			tasks = append(tasks, s.newTask(ctx, p, d))
		}
	} else {
		pt := placement.Task{CPU: d.cpu, Memory: d.memory, GPU: d.gpu, Ports: d.ports, Group: p.group, Constraints: p.constraints, Strategies: p.strategies}
		for _, a := range p.td.RequiresAttributes {
			pt.RequiredAttributes = append(pt.RequiredAttributes, placement.Attribute{Name: ptr.Value(a.Name), Value: ptr.Value(a.Value)})
		}
		batch := make([]placement.Task, p.count)
		for i := range batch {
			batch[i] = pt
		}
		s.randMu.Lock()
		seed := s.rand.Uint64()
		s.randMu.Unlock()
		placements, failures := placement.Place(snap, batch, placement.Options{Rand: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))})
		for _, f := range failures {
			fl := ecsapi.Failure{Arn: ptr.To(f.Arn), Reason: ptr.To(f.Reason)}
			if f.Detail != "" {
				fl.Detail = ptr.To(f.Detail)
			}
			out.Failures = append(out.Failures, fl)
		}
		for _, pl := range placements {
			r := recs[pl.InstanceID]
			t := s.newTask(ctx, p, d)
			t.Instance = r.ID
			for _, a := range r.Attributes {
				if a.Name == "ecs.availability-zone" {
					t.AZ = a.Value
				}
			}
			bindPorts(&t, d, pl.HostPorts)
			pinGPUs(&t, d, r)
			reserve(r, &t)
			touched[pl.InstanceID] = true
			tasks = append(tasks, t)
		}
	}
	if len(tasks) == 0 {
		return out, nil
	}
	err := s.commit(ctx, func(tx store.Tx, w *wakes) error {
		for a := range touched {
			r := recs[a]
			if err := putJSONIf(tx, instanceKey(r.Cluster, r.ID), r, revs[a]); err != nil {
				return err
			}
		}
		if err := indexTenant(ctx, tx); err != nil {
			return err
		}
		var tok tokenRec
		for i := range tasks {
			tasks[i].ClientToken = token
			if err := s.taskCreated(ctx, tx, w, &tasks[i]); err != nil {
				return err
			}
			if err := putJSONIf(tx, taskKey(tasks[i].Cluster, tasks[i].ID), &tasks[i], 0); err != nil {
				return err
			}
			tok.Cluster = tasks[i].Cluster
			tok.Tasks = append(tok.Tasks, tasks[i].ID)
		}
		if token != "" {
			return putJSONIf(tx, clientTokenKey(token), &tok, 0)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range tasks {
		out.Tasks = append(out.Tasks, s.apiTask(ctx, &tasks[i], true))
	}
	return out, nil
}

// StartTask starts one task of a definition on each named instance, without
// the placement strategies but with its resource and port checks.
func (s *Service) StartTask(ctx context.Context, in *ecsapi.StartTaskRequest) (*ecsapi.StartTaskResponse, error) {
	if len(in.ContainerInstances) == 0 || len(in.ContainerInstances) > 10 {
		return nil, invalidParam("Between 1 and 10 container instances must be specified.")
	}
	if err := s.ensureDefault(ctx, ptr.Value(in.Cluster)); err != nil {
		return nil, err
	}
	for attempt := 0; attempt < maxPlacementAttempts; attempt++ {
		var plan runPlan
		var snap []placement.Instance
		recs, revs := map[string]*instanceRec{}, map[string]int64{}
		out := &ecsapi.StartTaskResponse{Tasks: []ecsapi.Task{}, Failures: []ecsapi.Failure{}}
		err := s.view(ctx, func(tx store.Tx) error {
			var err error
			plan, err = s.planRun(ctx, tx, ptr.Value(in.Cluster), ptr.Value(in.TaskDefinition), in.NetworkConfiguration,
				in.Overrides, in.Group, in.StartedBy, in.Tags, in.PropagateTags)
			if err != nil {
				return err
			}
			plan.launchType, plan.enableExec = "EC2", ptr.Value(in.EnableExecuteCommand)
			for _, ident := range in.ContainerInstances {
				r, rev, err := loadInstance(ctx, tx, plan.cluster.Name, ident, false)
				if f, ok := missingFailure(ctx, err); ok {
					out.Failures = append(out.Failures, f)
					continue
				}
				if err != nil {
					return err
				}
				a := instanceARN(ctx, r.Cluster, r.ID)
				recs[a], revs[a] = &r, rev
				snap = append(snap, snapshotInstance(a, &r))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		// One task per instance: place each alone on its instance.
		var placed []taskRec
		d := taskDemand(&plan.td, plan.overrides)
		for _, inst := range snap {
			pt := placement.Task{CPU: d.cpu, Memory: d.memory, GPU: d.gpu, Ports: d.ports, Group: plan.group, Constraints: plan.constraints}
			pls, fails := placement.Place([]placement.Instance{inst}, []placement.Task{pt}, placement.Options{})
			for _, f := range fails {
				out.Failures = append(out.Failures, ecsapi.Failure{Arn: ptr.To(f.Arn), Reason: ptr.To(f.Reason)})
			}
			for _, pl := range pls {
				r := recs[pl.InstanceID]
				t := s.newTask(ctx, &plan, d)
				t.Instance = r.ID
				bindPorts(&t, d, pl.HostPorts)
				pinGPUs(&t, d, r)
				reserve(r, &t)
				placed = append(placed, t)
			}
		}
		err = s.commit(ctx, func(tx store.Tx, w *wakes) error {
			if len(placed) > 0 {
				if err := indexTenant(ctx, tx); err != nil {
					return err
				}
			}
			for i := range placed {
				r := recs[instanceARN(ctx, placed[i].Cluster, placed[i].Instance)]
				if err := putJSONIf(tx, instanceKey(r.Cluster, r.ID), r, revs[instanceARN(ctx, r.Cluster, r.ID)]); err != nil {
					return err
				}
				if err := s.taskCreated(ctx, tx, w, &placed[i]); err != nil {
					return err
				}
				if err := putJSONIf(tx, taskKey(placed[i].Cluster, placed[i].ID), &placed[i], 0); err != nil {
					return err
				}
			}
			return nil
		})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for i := range placed {
			out.Tasks = append(out.Tasks, s.apiTask(ctx, &placed[i], true))
		}
		return out, nil
	}
	return nil, errsNew(ErrServer, "Too many concurrent placements on this cluster; try again.")
}

// DescribeTasks describes tasks; unknown ones are MISSING failures.
func (s *Service) DescribeTasks(ctx context.Context, in *ecsapi.DescribeTasksRequest) (*ecsapi.DescribeTasksResponse, error) {
	if len(in.Tasks) == 0 || len(in.Tasks) > 100 {
		return nil, invalidParam("Between 1 and 100 tasks must be specified.")
	}
	withTags := slices.Contains(in.Include, "TAGS")
	out := &ecsapi.DescribeTasksResponse{Tasks: []ecsapi.Task{}, Failures: []ecsapi.Failure{}}
	err := s.view(ctx, func(tx store.Tx) error {
		c, _, err := loadCluster(ctx, tx, ptr.Value(in.Cluster))
		if err != nil {
			return err
		}
		for _, ident := range in.Tasks {
			id, ok := taskID(ctx, c.Name, ident)
			var t taskRec
			if ok {
				_, err := getJSON(tx, taskKey(c.Name, id), &t)
				if err != nil && !isNotFound(err) {
					return err
				}
				ok = err == nil && s.visible(&t)
			}
			if !ok {
				a := ident
				if !strings.HasPrefix(a, "arn:") {
					a = taskARN(ctx, c.Name, ident)
				}
				out.Failures = append(out.Failures, ecsapi.Failure{Arn: ptr.To(a), Reason: ptr.To("MISSING")})
				continue
			}
			out.Tasks = append(out.Tasks, s.apiTask(ctx, &t, withTags))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListTasks lists task ARNs of a cluster with ECS's filters; without
// desiredStatus the tasks not desired STOPPED.
func (s *Service) ListTasks(ctx context.Context, in *ecsapi.ListTasksRequest) (*ecsapi.ListTasksResponse, error) {
	desired := ptr.Value(in.DesiredStatus)
	if in.Family != nil && in.ServiceName != nil {
		return nil, invalidParam("Family and serviceName cannot both be specified.")
	}
	var ids []string
	var cluster string
	err := s.view(ctx, func(tx store.Tx) error {
		c, _, err := loadCluster(ctx, tx, ptr.Value(in.Cluster))
		if err != nil {
			return err
		}
		cluster = c.Name
		inst := ""
		if ci := ptr.Value(in.ContainerInstance); ci != "" {
			id, ok := instanceID(ctx, c.Name, ci)
			if !ok {
				return invalidParam("Container instance %s is not valid for cluster %s.", ci, c.Name)
			}
			inst = id
		}
		tasks, err := scanAll[taskRec](tx, taskPrefix(c.Name))
		for _, t := range tasks {
			switch {
			case !s.visible(&t):
			case desired == "" && t.DesiredStatus == taskStopped:
			case desired != "" && desired != "PENDING" && t.DesiredStatus != desired:
			case desired == "PENDING" && (t.DesiredStatus != taskRunning || statusRank(t.LastStatus) >= statusRank(taskRunning)):
			case inst != "" && t.Instance != inst:
			case in.Family != nil && t.Family != *in.Family:
			case in.ServiceName != nil && t.Group != "service:"+*in.ServiceName:
			case in.StartedBy != nil && t.StartedBy != *in.StartedBy:
			case in.LaunchType != nil && t.LaunchType != *in.LaunchType:
			default:
				ids = append(ids, t.ID)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(ids, func(id string) string { return id }, in.NextToken, maxResults(in.MaxResults, 100, 100), false)
	if err != nil {
		return nil, err
	}
	out := &ecsapi.ListTasksResponse{TaskArns: []string{}}
	for _, id := range page {
		out.TaskArns = append(out.TaskArns, taskARN(ctx, cluster, id))
	}
	if next != "" {
		out.NextToken = ptr.To(next)
	}
	return out, nil
}
