package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/wharftest"
)

// fastServices starts a server whose service scheduler passes every 100 ms
// and whose container instances stay connected although the simulated
// agents below never poll the agent channel.
func fastServices(t *testing.T) (*ecs.Client, *wharftest.Env) {
	t.Helper()
	env := wharftest.Start(t, func(c *server.Config) {
		c.ServiceSchedulerInterval = 100 * time.Millisecond
		c.AgentTimeout, c.InstanceLostTimeout = time.Hour, time.Hour
	})
	return ecs.NewFromConfig(env.Root()), env
}

// simAgents plays the agents of a cluster's instances through the ECS API,
// as `wharf agent` does: tasks pending are reported RUNNING (or, when fail
// says so, STOPPED as a start failure), tasks desired STOPPED are reported
// STOPPED.
type simAgents struct {
	c       *ecs.Client
	cluster string
	fail    func(taskDef string) bool
	stop    chan struct{}
	done    chan struct{}
}

func startAgents(t *testing.T, c *ecs.Client, cluster string, fail func(string) bool) *simAgents {
	a := &simAgents{c: c, cluster: cluster, fail: fail, stop: make(chan struct{}), done: make(chan struct{})}
	go a.run()
	t.Cleanup(a.Stop)
	return a
}

func (a *simAgents) Stop() {
	select {
	case <-a.stop:
	default:
		close(a.stop)
		<-a.done
	}
}

func (a *simAgents) run() {
	defer close(a.done)
	ctx := context.Background()
	for {
		select {
		case <-a.stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
		for _, desired := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
			l, err := a.c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(a.cluster), DesiredStatus: desired})
			if err != nil || len(l.TaskArns) == 0 {
				continue
			}
			for i := 0; i < len(l.TaskArns); i += 100 {
				d, err := a.c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(a.cluster), Tasks: l.TaskArns[i:min(i+100, len(l.TaskArns))]})
				if err != nil {
					continue
				}
				for _, tk := range d.Tasks {
					a.report(ctx, tk)
				}
			}
		}
	}
}

func (a *simAgents) report(ctx context.Context, tk types.Task) {
	in := &ecs.SubmitTaskStateChangeInput{Cluster: aws.String(a.cluster), Task: tk.TaskArn}
	last, desired := aws.ToString(tk.LastStatus), aws.ToString(tk.DesiredStatus)
	switch {
	case last == "STOPPED":
		return
	case desired == "STOPPED":
		in.Status = aws.String("STOPPED")
	case last == "RUNNING":
		return
	case a.fail != nil && a.fail(aws.ToString(tk.TaskDefinitionArn)):
		in.Status, in.Reason = aws.String("STOPPED"), aws.String("CannotPullContainerError: pull access denied")
	default:
		in.Status = aws.String("RUNNING")
	}
	_, _ = a.c.SubmitTaskStateChange(ctx, in)
}

func registerTD(t *testing.T, c *ecs.Client, family, image string) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(image), Cpu: 128, Memory: aws.Int32(128),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func describeService(t *testing.T, c *ecs.Client, cluster, name string) types.Service {
	t.Helper()
	out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describe %s: %v %+v", name, err, out)
	}
	return out.Services[0]
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hasEvent(s types.Service, sub string) bool {
	for _, e := range s.Events {
		if strings.Contains(aws.ToString(e.Message), sub) {
			return true
		}
	}
	return false
}

func eventList(s types.Service) string {
	var b strings.Builder
	for _, e := range s.Events {
		b.WriteString(aws.ToString(e.Message) + "\n")
	}
	return b.String()
}

func TestECSServiceAPI(t *testing.T) {
	c, env := fastServices(t)
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("svc")}); err != nil {
		t.Fatal(err)
	}
	registerInstance(t, c, "svc", "i-0000000000000001a", "us-east-1a", 4096, 8192)
	registerTD(t, c, "web", "busybox")
	startAgents(t, c, "svc", nil)

	var cnf *types.ClusterNotFoundException
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("nope"), ServiceName: aws.String("a"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)}); !errors.As(err, &cnf) {
		t.Fatalf("unknown cluster: %v", err)
	}
	var ipe *types.InvalidParameterException
	for name, in := range map[string]*ecs.CreateServiceInput{
		"daemon with a desired count": {SchedulingStrategy: types.SchedulingStrategyDaemon, DesiredCount: aws.Int32(1)},
		"unknown task definition":     {TaskDefinition: aws.String("nosuch"), DesiredCount: aws.Int32(1)},
		"min above 100": {DesiredCount: aws.Int32(1), DeploymentConfiguration: &types.DeploymentConfiguration{
			MinimumHealthyPercent: aws.Int32(150)}},
		"launch type and strategy": {DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeEc2,
			CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE")}}},
		"daemon placement strategy": {SchedulingStrategy: types.SchedulingStrategyDaemon,
			PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}}},
	} {
		in.Cluster, in.ServiceName = aws.String("svc"), aws.String("bad")
		if in.TaskDefinition == nil {
			in.TaskDefinition = aws.String("web")
		}
		if _, err := c.CreateService(ctx, in); !errors.As(err, &ipe) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// FARGATE with an unknown platform version.
	fg, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("fg"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox")}}})
	if err != nil {
		t.Fatal(err)
	}
	net := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
	var pue *types.PlatformUnknownException
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("svc"), ServiceName: aws.String("fg"),
		TaskDefinition: fg.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeFargate,
		PlatformVersion: aws.String("9.9.9"), NetworkConfiguration: net}); !errors.As(err, &pue) {
		t.Fatalf("platform: %v", err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("svc"), ServiceName: aws.String("fg"),
		TaskDefinition: fg.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeFargate}); !errors.As(err, &ipe) ||
		!strings.Contains(err.Error(), "Network Configuration must be provided") {
		t.Fatalf("awsvpc without network: %v", err)
	}

	in := &ecs.CreateServiceInput{Cluster: aws.String("svc"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web"),
		DesiredCount: aws.Int32(2), ClientToken: aws.String("tok-1"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}}
	out, err := c.CreateService(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	s := out.Service
	if aws.ToString(s.ServiceArn) != "arn:aws:ecs:us-east-1:"+env.Info.Account+":service/svc/web" || aws.ToString(s.Status) != "ACTIVE" ||
		s.DesiredCount != 2 || len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].Status) != "PRIMARY" ||
		s.Deployments[0].RolloutState != types.DeploymentRolloutStateInProgress || !strings.HasPrefix(aws.ToString(s.Deployments[0].Id), "ecs-svc/") ||
		aws.ToInt32(s.DeploymentConfiguration.MaximumPercent) != 200 || aws.ToInt32(s.DeploymentConfiguration.MinimumHealthyPercent) != 100 ||
		s.SchedulingStrategy != types.SchedulingStrategyReplica || s.LaunchType != types.LaunchTypeEc2 || aws.ToString(s.CreatedBy) == "" {
		t.Fatalf("created: %+v", s)
	}
	// The same client token answers the same service; another collides.
	again, err := c.CreateService(ctx, in)
	if err != nil || aws.ToString(again.Service.ServiceArn) != aws.ToString(s.ServiceArn) {
		t.Fatalf("idempotent create: %v", err)
	}
	in.ClientToken = aws.String("tok-2")
	if _, err := c.CreateService(ctx, in); !errors.As(err, &ipe) || !strings.Contains(err.Error(), "Creation of service was not idempotent.") {
		t.Fatalf("name collision: %v", err)
	}
	// The SDK's waiter: services-stable.
	if err := ecs.NewServicesStableWaiter(c).Wait(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("svc"), Services: []string{"web"}}, 20*time.Second,
		func(o *ecs.ServicesStableWaiterOptions) {
			o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
		}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the steady-state event", 5*time.Second, func() bool {
		return hasEvent(describeService(t, c, "svc", "web"), "(service web) has reached a steady state.")
	})
	s2 := describeService(t, c, "svc", "web")
	if s2.RunningCount != 2 || !hasEvent(s2, "(service web) has started 2 tasks: (task ") {
		t.Fatalf("stable: running %d, events:\n%s", s2.RunningCount, eventList(s2))
	}
	if !strings.Contains(aws.ToString(s2.Events[0].Message), "steady state") {
		t.Fatalf("events are not newest first:\n%s", eventList(s2))
	}
	// Tasks of a service: group, startedBy.
	l, _ := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("svc"), ServiceName: aws.String("web")})
	if len(l.TaskArns) != 2 {
		t.Fatalf("list tasks of the service: %v", l.TaskArns)
	}
	d, _ := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("svc"), Tasks: l.TaskArns})
	for _, tk := range d.Tasks {
		if aws.ToString(tk.Group) != "service:web" || aws.ToString(tk.StartedBy) != aws.ToString(s.Deployments[0].Id) {
			t.Fatalf("task group %q startedBy %q", aws.ToString(tk.Group), aws.ToString(tk.StartedBy))
		}
	}

	// Describe: a MISSING failure beside the service; tags on request.
	desc, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("svc"), Services: []string{"web", "ghost"},
		Include: []types.ServiceField{types.ServiceFieldTags}})
	if err != nil || len(desc.Services) != 1 || len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" ||
		!strings.HasSuffix(aws.ToString(desc.Failures[0].Arn), ":service/svc/ghost") || len(desc.Services[0].Tags) != 1 {
		t.Fatalf("describe: %v %+v", err, desc)
	}
	// Tags on the service ARN.
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: s.ServiceArn, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}}}); err != nil {
		t.Fatal(err)
	}
	if tl, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: s.ServiceArn}); err != nil || len(tl.Tags) != 2 {
		t.Fatalf("service tags: %v %+v", err, tl)
	}
	// Cluster counts and refusal.
	cl, _ := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"svc"}})
	if cl.Clusters[0].ActiveServicesCount != 1 {
		t.Fatalf("activeServicesCount %d", cl.Clusters[0].ActiveServicesCount)
	}
	// List with pagination.
	for i := range 3 {
		if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("svc"), ServiceName: aws.String(fmt.Sprintf("zero-%d", i)),
			TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0)}); err != nil {
			t.Fatal(err)
		}
	}
	var arns []string
	p := ecs.NewListServicesPaginator(c, &ecs.ListServicesInput{Cluster: aws.String("svc"), MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, page.ServiceArns...)
	}
	if len(arns) != 4 {
		t.Fatalf("list services: %v", arns)
	}

	// Update errors.
	var snf *types.ServiceNotFoundException
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("svc"), Service: aws.String("ghost"), DesiredCount: aws.Int32(1)}); !errors.As(err, &snf) {
		t.Fatalf("update unknown: %v", err)
	}
	// Delete: refused while scaled above 0, then with force.
	if _, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("svc"), Service: aws.String("web")}); !errors.As(err, &ipe) ||
		!strings.Contains(err.Error(), "The service cannot be stopped while it is scaled above 0.") {
		t.Fatalf("delete without force: %v", err)
	}
	del, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("svc"), Service: aws.String("web"), Force: aws.Bool(true)})
	if err != nil || aws.ToString(del.Service.Status) != "DRAINING" {
		t.Fatalf("delete: %v %+v", err, del)
	}
	var sna *types.ServiceNotActiveException
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("svc"), Service: aws.String("web"), DesiredCount: aws.Int32(1)}); !errors.As(err, &sna) {
		t.Fatalf("update draining: %v", err)
	}
	if err := ecs.NewServicesInactiveWaiter(c).Wait(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("svc"), Services: []string{"web"}}, 20*time.Second,
		func(o *ecs.ServicesInactiveWaiterOptions) {
			o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
		}); err != nil {
		t.Fatal(err)
	}
	l, _ = c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("svc"), ServiceName: aws.String("web")})
	if len(l.TaskArns) != 0 {
		t.Fatalf("tasks left after delete: %v", l.TaskArns)
	}
	// Zero-count services delete without force; the cluster then may go.
	for i := range 3 {
		if _, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("svc"), Service: aws.String(fmt.Sprintf("zero-%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	cl, _ = c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"svc"}})
	if cl.Clusters[0].ActiveServicesCount != 0 {
		t.Fatalf("activeServicesCount after delete %d", cl.Clusters[0].ActiveServicesCount)
	}
}

func TestECSServiceDeleteClusterRefused(t *testing.T) {
	c, _ := fastServices(t)
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	registerTD(t, c, "web", "busybox")
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("k"), ServiceName: aws.String("s"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	var ccs *types.ClusterContainsServicesException
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("k")}); !errors.As(err, &ccs) {
		t.Fatalf("delete cluster: %v", err)
	}
}

// TestECSServiceLaunchFailureEvents: a service whose tasks cannot be
// placed (no instances) or launched (FARGATE on a server without managed
// capacity) records ECS's events; a deregistered (INACTIVE) revision still
// scales, as in ECS.
func TestECSServiceLaunchFailureEvents(t *testing.T) {
	env := wharftest.Start(t, func(c *server.Config) {
		c.ServiceSchedulerInterval = 100 * time.Millisecond
		c.AgentTimeout, c.InstanceLostTimeout = time.Hour, time.Hour
		c.ManagedCapacity = "off"
	})
	c := ecs.NewFromConfig(env.Root())
	ctx := context.Background()
	registerTD(t, c, "web", "busybox")
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web:1"),
		DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeEc2}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the unable-to-place event", 5*time.Second, func() bool {
		return hasEvent(describeService(t, c, "default", "web"),
			"(service web) was unable to place a task because no container instance met all of its requirements.")
	})
	registerInstance(t, c, "", "i-0000000000000fa11", "us-east-1a", 2048, 4096)
	startAgents(t, c, "default", nil)
	stable(t, c, "default", "web")
	if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	stable(t, c, "default", "web")
	if s := describeService(t, c, "default", "web"); s.RunningCount != 2 {
		t.Fatalf("INACTIVE revision did not scale: %d running", s.RunningCount)
	}
	var ipe *types.InvalidParameterException
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String("web:1")}); !errors.As(err, &ipe) {
		t.Fatalf("deploying an INACTIVE revision: %v", err)
	}

	fg, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("fg"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox")}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("fg"), TaskDefinition: fg.TaskDefinition.TaskDefinitionArn,
		DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Service.PlatformVersion) != "LATEST" || !strings.HasSuffix(aws.ToString(out.Service.ClusterArn), ":cluster/default") {
		t.Fatalf("created: %+v", out.Service)
	}
	waitFor(t, "the launch failure event", 5*time.Second, func() bool {
		return hasEvent(describeService(t, c, "default", "fg"), "(service fg) failed to launch a task with (error ")
	})
}
