package integration

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// serviceTasks describes the cluster's tasks of a service (not yet
// swept).
func serviceTasks(t *testing.T, c *ecs.Client, cluster, service string) []types.Task {
	t.Helper()
	ctx := context.Background()
	var out []types.Task
	seen := map[string]int{} // a task may move between the two listings: keep its last description
	for _, ds := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
		l, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service), DesiredStatus: ds})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(l.TaskArns); i += 100 {
			d, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: l.TaskArns[i:min(i+100, len(l.TaskArns))]})
			if err != nil {
				t.Fatal(err)
			}
			for _, tk := range d.Tasks {
				if i, ok := seen[aws.ToString(tk.TaskArn)]; ok {
					out[i] = tk
					continue
				}
				seen[aws.ToString(tk.TaskArn)] = len(out)
				out = append(out, tk)
			}
		}
	}
	return out
}

// watcher samples a service's tasks until stopped and keeps the fewest
// healthy (RUNNING, desired RUNNING) and the most running-or-pending.
type watcher struct {
	mu                 sync.Mutex
	minHealthy, maxAll int
	samples            int
	stop, done         chan struct{}
}

func watch(t *testing.T, c *ecs.Client, cluster, service string) *watcher {
	w := &watcher{minHealthy: 1 << 30, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			healthy, all := 0, 0
			for _, tk := range serviceTasks(t, c, cluster, service) {
				last := aws.ToString(tk.LastStatus)
				if last != "STOPPED" {
					all++
				}
				if last == "RUNNING" && aws.ToString(tk.DesiredStatus) == "RUNNING" {
					healthy++
				}
			}
			w.mu.Lock()
			w.minHealthy, w.maxAll = min(w.minHealthy, healthy), max(w.maxAll, all)
			w.samples++
			w.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return w
}

func (w *watcher) Stop() (minHealthy, maxAll, samples int) {
	close(w.stop)
	<-w.done
	return w.minHealthy, w.maxAll, w.samples
}

func stable(t *testing.T, c *ecs.Client, cluster, service string) {
	t.Helper()
	if err := ecs.NewServicesStableWaiter(c).Wait(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster),
		Services: []string{service}}, 25*time.Second,
		func(o *ecs.ServicesStableWaiterOptions) {
			o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
		}); err != nil {
		s := describeService(t, c, cluster, service)
		t.Fatalf("%s not stable: %v; running %d desired %d deployments %d; events:\n%s", service, err, s.RunningCount, s.DesiredCount, len(s.Deployments), eventList(s))
	}
}

func TestECSServiceRollingUpdateKeepsMinimum(t *testing.T) {
	c, _ := fastServices(t)
	ctx := context.Background()
	c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("roll")})
	for i, az := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		registerInstance(t, c, "roll", "i-00000000000000r0"+string(rune('a'+i)), az, 4096, 8192)
	}
	registerTD(t, c, "web", "busybox")
	rev2 := registerTD(t, c, "web", "busybox:2")
	startAgents(t, c, "roll", nil)
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("roll"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	stable(t, c, "roll", "web")
	// The default strategy spreads across zones: one task per instance.
	perInstance := map[string]int{}
	for _, tk := range serviceTasks(t, c, "roll", "web") {
		perInstance[aws.ToString(tk.ContainerInstanceArn)]++
	}
	if len(perInstance) != 3 {
		t.Fatalf("tasks not spread: %v", perInstance)
	}

	w := watch(t, c, "roll", "web")
	up, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("roll"), Service: aws.String("web"), TaskDefinition: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Service.Deployments) != 2 || aws.ToString(up.Service.TaskDefinition) != rev2 ||
		aws.ToString(up.Service.Deployments[1].Status) != "ACTIVE" {
		t.Fatalf("update: %+v", up.Service.Deployments)
	}
	newID := aws.ToString(up.Service.Deployments[0].Id)
	stable(t, c, "roll", "web")
	minHealthy, maxAll, samples := w.Stop()
	t.Logf("rolling update: %d samples, fewest healthy %d, most running or pending %d", samples, minHealthy, maxAll)
	if minHealthy < 3 || maxAll > 6 {
		t.Fatalf("min/max broken: fewest healthy %d (want ≥ 3), most tasks %d (want ≤ 6)", minHealthy, maxAll)
	}
	s := describeService(t, c, "roll", "web")
	if len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].Id) != newID || s.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted ||
		s.RunningCount != 3 {
		t.Fatalf("after the update: %+v", s.Deployments)
	}
	if !hasEvent(s, "(service web) (deployment "+newID+") deployment completed.") || !hasEvent(s, "(service web) has stopped ") {
		t.Fatalf("events:\n%s", eventList(s))
	}
	for _, tk := range serviceTasks(t, c, "roll", "web") {
		if aws.ToString(tk.LastStatus) == "STOPPED" && (tk.StopCode != types.TaskStopCodeServiceSchedulerInitiated ||
			aws.ToString(tk.StoppedReason) != "Scaling activity initiated by (deployment "+newID+")") {
			t.Fatalf("stopped task: %s %q", tk.StopCode, aws.ToString(tk.StoppedReason))
		}
	}
}

func TestECSServiceCircuitBreakerRollsBack(t *testing.T) {
	c, _ := fastServices(t)
	ctx := context.Background()
	c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("cb")})
	registerInstance(t, c, "cb", "i-000000000000000cb", "us-east-1a", 8192, 16384)
	good := registerTD(t, c, "web", "busybox")
	bad := registerTD(t, c, "web", "no-such-image")
	startAgents(t, c, "cb", func(td string) bool { return td == bad })
	out, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("cb"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String(good), DesiredCount: aws.Int32(3),
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}})
	if err != nil {
		t.Fatal(err)
	}
	goodID := aws.ToString(out.Service.Deployments[0].Id)
	stable(t, c, "cb", "web")
	// Only a COMPLETED deployment can be rolled back to; the waiter looks at
	// counts only, so wait for the rollout state too.
	waitFor(t, "the first deployment to complete", 10*time.Second, func() bool {
		return describeService(t, c, "cb", "web").Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	up, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("cb"), Service: aws.String("web"), TaskDefinition: aws.String(bad)})
	if err != nil {
		t.Fatal(err)
	}
	badID := aws.ToString(up.Service.Deployments[0].Id)
	deadline := time.Now().Add(30 * time.Second)
	for s := describeService(t, c, "cb", "web"); !hasEvent(s, "rolling back to deployment "+goodID+"."); s = describeService(t, c, "cb", "web") {
		if time.Now().After(deadline) {
			t.Fatalf("no rollback: %+v\nevents:\n%s", s.Deployments, eventList(s))
		}
		time.Sleep(50 * time.Millisecond)
	}
	stable(t, c, "cb", "web")
	s := describeService(t, c, "cb", "web")
	if len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].Id) != goodID || aws.ToString(s.TaskDefinition) != good || s.RunningCount != 3 {
		t.Fatalf("after rollback: td %s %+v", aws.ToString(s.TaskDefinition), s.Deployments)
	}
	if !hasEvent(s, "(service web) deployment "+badID+" deployment failed: tasks failed to start.") {
		t.Fatalf("events:\n%s", eventList(s))
	}
	failed := 0
	for _, tk := range serviceTasks(t, c, "cb", "web") {
		if aws.ToString(tk.StartedBy) == badID {
			failed++
			if aws.ToString(tk.LastStatus) != "STOPPED" {
				t.Fatalf("bad task: %s", aws.ToString(tk.LastStatus))
			}
		}
	}
	if failed < 3 {
		t.Fatalf("only %d tasks of the failing deployment", failed)
	}
}

func TestECSServiceReplacesStoppedTask(t *testing.T) {
	c, _ := fastServices(t)
	ctx := context.Background()
	c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("rep")})
	registerInstance(t, c, "rep", "i-00000000000000rep", "us-east-1a", 4096, 8192)
	registerTD(t, c, "web", "busybox")
	startAgents(t, c, "rep", nil)
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("rep"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	stable(t, c, "rep", "web")
	victim := serviceTasks(t, c, "rep", "web")[0]
	if _, err := c.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Cluster: aws.String("rep"), Task: victim.TaskArn,
		Status: aws.String("STOPPED"), Reason: aws.String("Essential container in task exited")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a replacement", 10*time.Second, func() bool {
		s := describeService(t, c, "rep", "web")
		return hasEvent(s, "has started 1 tasks") && s.RunningCount == 2
	})
	s := describeService(t, c, "rep", "web")
	if s.Deployments[0].FailedTasks != 1 {
		t.Fatalf("failedTasks %d", s.Deployments[0].FailedTasks)
	}
}

func TestECSServiceDaemonFollowsInstances(t *testing.T) {
	c, _ := fastServices(t)
	ctx := context.Background()
	c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("dm")})
	a := registerInstance(t, c, "dm", "i-00000000000000d0a", "us-east-1a", 2048, 4096)
	registerInstance(t, c, "dm", "i-00000000000000d0b", "us-east-1b", 2048, 4096)
	registerTD(t, c, "logger", "busybox")
	startAgents(t, c, "dm", nil)
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("dm"), ServiceName: aws.String("logger"),
		TaskDefinition: aws.String("logger"), SchedulingStrategy: types.SchedulingStrategyDaemon}); err != nil {
		t.Fatal(err)
	}
	stable(t, c, "dm", "logger")
	perInstance := func() map[string]int {
		m := map[string]int{}
		for _, tk := range serviceTasks(t, c, "dm", "logger") {
			if aws.ToString(tk.LastStatus) != "STOPPED" {
				m[aws.ToString(tk.ContainerInstanceArn)]++
			}
		}
		return m
	}
	waitFor(t, "a task on each instance", 10*time.Second, func() bool {
		return len(perInstance()) == 2 && describeService(t, c, "dm", "logger").DesiredCount == 2
	})
	third := registerInstance(t, c, "dm", "i-00000000000000d0c", "us-east-1c", 2048, 4096)
	waitFor(t, "the joining instance's task", 10*time.Second, func() bool { return perInstance()[aws.ToString(third.ContainerInstanceArn)] == 1 })
	stable(t, c, "dm", "logger")
	if describeService(t, c, "dm", "logger").DesiredCount != 3 {
		t.Fatal("desired count does not follow instances")
	}
	if _, err := c.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("dm"),
		ContainerInstances: []string{aws.ToString(a.ContainerInstanceArn)}, Status: types.ContainerInstanceStatusDraining}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the draining instance's task to stop", 10*time.Second, func() bool {
		_, on := perInstance()[aws.ToString(a.ContainerInstanceArn)]
		return !on
	})
	stable(t, c, "dm", "logger")
	if m := perInstance(); len(m) != 2 || describeService(t, c, "dm", "logger").DesiredCount != 2 {
		t.Fatalf("after draining: %v", m)
	}
}

func TestECSServiceDrainingInstanceMovesTasks(t *testing.T) {
	c, _ := fastServices(t)
	ctx := context.Background()
	c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("dr")})
	a := registerInstance(t, c, "dr", "i-00000000000000dra", "us-east-1a", 4096, 8192)
	registerInstance(t, c, "dr", "i-00000000000000drb", "us-east-1b", 4096, 8192)
	registerTD(t, c, "web", "busybox")
	startAgents(t, c, "dr", nil)
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("dr"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(4),
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(100)}}); err != nil {
		t.Fatal(err)
	}
	stable(t, c, "dr", "web")
	w := watch(t, c, "dr", "web")
	if _, err := c.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("dr"),
		ContainerInstances: []string{aws.ToString(a.ContainerInstanceArn)}, Status: types.ContainerInstanceStatusDraining}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "tasks to leave the draining instance", 20*time.Second, func() bool {
		n := 0
		for _, tk := range serviceTasks(t, c, "dr", "web") {
			if aws.ToString(tk.LastStatus) == "RUNNING" && aws.ToString(tk.DesiredStatus) == "RUNNING" {
				if aws.ToString(tk.ContainerInstanceArn) == aws.ToString(a.ContainerInstanceArn) {
					return false
				}
				n++
			}
		}
		return n == 4
	})
	minHealthy, maxAll, _ := w.Stop()
	if minHealthy < 2 || maxAll > 4 {
		t.Fatalf("draining broke min/max: fewest healthy %d, most tasks %d", minHealthy, maxAll)
	}
	for _, tk := range serviceTasks(t, c, "dr", "web") {
		if aws.ToString(tk.ContainerInstanceArn) == aws.ToString(a.ContainerInstanceArn) && !strings.Contains(aws.ToString(tk.StoppedReason), "draining") {
			t.Fatalf("task stopped on the draining instance with %q", aws.ToString(tk.StoppedReason))
		}
	}
}
