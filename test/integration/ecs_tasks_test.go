package integration

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func bridgeTaskDef(t *testing.T, c *ecs.Client, family string, cpu int32) {
	t.Helper()
	_, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String("busybox"), Cpu: cpu, Memory: aws.Int32(256),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80)}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func remainingCPU(ci types.ContainerInstance) int32 {
	for _, r := range ci.RemainingResources {
		if aws.ToString(r.Name) == "CPU" {
			return r.IntegerValue
		}
	}
	return -1
}

func TestECSRunTaskLifecycle(t *testing.T) {
	c, env := ecsClient(t)
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("work")}); err != nil {
		t.Fatal(err)
	}
	a := registerInstance(t, c, "work", "i-00000000000000a1", "us-east-1a", 1024, 4096)
	b := registerInstance(t, c, "work", "i-00000000000000b1", "us-east-1b", 1024, 4096)
	bridgeTaskDef(t, c, "web", 256)

	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("work"), TaskDefinition: aws.String("web"), Count: aws.Int32(3),
		StartedBy: aws.String("ci"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Tasks) != 3 || len(run.Failures) != 0 {
		t.Fatalf("run = %d tasks, failures %+v", len(run.Tasks), run.Failures)
	}
	t0 := run.Tasks[0]
	if aws.ToString(t0.LastStatus) != "PENDING" || aws.ToString(t0.DesiredStatus) != "RUNNING" || t0.LaunchType != types.LaunchTypeEc2 ||
		aws.ToString(t0.Group) != "family:web" || aws.ToString(t0.StartedBy) != "ci" || t0.ContainerInstanceArn == nil {
		t.Fatalf("task = %+v", t0)
	}
	if !strings.HasPrefix(aws.ToString(t0.TaskArn), "arn:aws:ecs:us-east-1:"+env.Info.Account+":task/work/") {
		t.Fatalf("task arn = %s", aws.ToString(t0.TaskArn))
	}
	nb := t0.Containers[0].NetworkBindings
	if len(nb) != 1 || aws.ToInt32(nb[0].HostPort) < 49153 || aws.ToInt32(nb[0].ContainerPort) != 80 {
		t.Fatalf("network bindings = %+v", nb)
	}
	// Default strategy spreads across zones: both instances are used.
	used := map[string]int{}
	for _, tk := range run.Tasks {
		used[aws.ToString(tk.ContainerInstanceArn)]++
	}
	if len(used) != 2 {
		t.Fatalf("placements = %v", used)
	}

	// Fill up: 8 tasks fit (4 per instance); 5 more of 10 are placed.
	more, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("work"), TaskDefinition: aws.String("web"), Count: aws.Int32(10)})
	if err != nil {
		t.Fatal(err)
	}
	if len(more.Tasks) != 5 || len(more.Failures) == 0 || aws.ToString(more.Failures[0].Reason) != "RESOURCE:CPU" {
		t.Fatalf("fill = %d tasks, failures %+v", len(more.Tasks), more.Failures)
	}
	di, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("work"),
		ContainerInstances: []string{aws.ToString(a.ContainerInstanceArn), aws.ToString(b.ContainerInstanceArn)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ci := range di.ContainerInstances {
		if remainingCPU(ci) != 0 || ci.PendingTasksCount != 4 {
			t.Fatalf("instance after fill: cpu %d pending %d", remainingCPU(ci), ci.PendingTasksCount)
		}
	}
	dc, _ := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"work"}})
	if dc.Clusters[0].PendingTasksCount != 8 || dc.Clusters[0].RunningTasksCount != 0 {
		t.Fatalf("cluster counts = %+v", dc.Clusters[0])
	}

	// The agent reports the task running, then the user stops it and the
	// agent reports it stopped.
	task := aws.ToString(t0.TaskArn)
	if _, err := c.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Cluster: aws.String("work"), Task: aws.String(task),
		Status: aws.String("RUNNING"), Containers: []types.ContainerStateChange{{ContainerName: aws.String("web"), Status: aws.String("RUNNING"),
			RuntimeId: aws.String("abc123")}}}); err != nil {
		t.Fatal(err)
	}
	dt, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("work"), Tasks: []string{task, "00000000000000000000000000000000"},
		Include: []types.TaskField{types.TaskFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if len(dt.Tasks) != 1 || len(dt.Failures) != 1 || aws.ToString(dt.Failures[0].Reason) != "MISSING" {
		t.Fatalf("describe = %+v", dt)
	}
	got := dt.Tasks[0]
	if aws.ToString(got.LastStatus) != "RUNNING" || got.StartedAt == nil || got.Connectivity != types.ConnectivityConnected ||
		aws.ToString(got.Containers[0].LastStatus) != "RUNNING" || aws.ToString(got.Containers[0].RuntimeId) != "abc123" || len(got.Tags) != 1 {
		t.Fatalf("running task = %+v", got)
	}
	dc, _ = c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"work"}})
	if dc.Clusters[0].RunningTasksCount != 1 || dc.Clusters[0].PendingTasksCount != 7 {
		t.Fatalf("cluster counts = %+v", dc.Clusters[0])
	}
	st, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("work"), Task: aws.String(task), Reason: aws.String("done")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(st.Task.DesiredStatus) != "STOPPED" || aws.ToString(st.Task.LastStatus) != "RUNNING" || st.Task.StopCode != types.TaskStopCodeUserInitiated {
		t.Fatalf("stop = %+v", st.Task)
	}
	if _, err := c.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Cluster: aws.String("work"), Task: aws.String(task),
		Status: aws.String("STOPPED"), Containers: []types.ContainerStateChange{{ContainerName: aws.String("web"), Status: aws.String("STOPPED"),
			ExitCode: aws.Int32(137)}}}); err != nil {
		t.Fatal(err)
	}
	dt, _ = c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("work"), Tasks: []string{task}})
	got = dt.Tasks[0]
	if aws.ToString(got.LastStatus) != "STOPPED" || got.StoppedAt == nil || aws.ToString(got.StoppedReason) != "done" ||
		aws.ToInt32(got.Containers[0].ExitCode) != 137 || got.StopCode != types.TaskStopCodeUserInitiated {
		t.Fatalf("stopped task = %+v", got)
	}
	// Resources are back: one more task fits on that instance.
	di, _ = c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("work"),
		ContainerInstances: []string{aws.ToString(t0.ContainerInstanceArn)}})
	if remainingCPU(di.ContainerInstances[0]) != 256 || di.ContainerInstances[0].RunningTasksCount != 0 {
		t.Fatalf("after stop: cpu %d running %d", remainingCPU(di.ContainerInstances[0]), di.ContainerInstances[0].RunningTasksCount)
	}

	// Listing filters and pagination.
	list := func(in *ecs.ListTasksInput) []string {
		t.Helper()
		in.Cluster = aws.String("work")
		var arns []string
		p := ecs.NewListTasksPaginator(c, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			arns = append(arns, out.TaskArns...)
		}
		return arns
	}
	if n := len(list(&ecs.ListTasksInput{MaxResults: aws.Int32(3)})); n != 7 {
		t.Fatalf("list = %d", n)
	}
	if got := list(&ecs.ListTasksInput{DesiredStatus: types.DesiredStatusStopped}); len(got) != 1 || got[0] != task {
		t.Fatalf("stopped = %v", got)
	}
	if n := len(list(&ecs.ListTasksInput{StartedBy: aws.String("ci")})); n != 2 {
		t.Fatalf("startedBy = %d", n)
	}
	if n := len(list(&ecs.ListTasksInput{ContainerInstance: a.ContainerInstanceArn})); n == 0 || n > 4 {
		t.Fatalf("on instance a = %d", n)
	}
	if n := len(list(&ecs.ListTasksInput{Family: aws.String("other")})); n != 0 {
		t.Fatalf("family other = %d", n)
	}

	// The query language sees tasks: task:group and runningTasksCount.
	ci, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("work"),
		Filter: aws.String("task:group == family:web and runningTasksCount > 2")})
	if err != nil || len(ci.ContainerInstanceArns) != 2 {
		t.Fatalf("filter by task group = %+v, %v", ci, err)
	}

	// Tags on a task.
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(task), Tags: []types.Tag{{Key: aws.String("x"), Value: aws.String("y")}}}); err != nil {
		t.Fatal(err)
	}
	lt, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(task)})
	if err != nil || len(lt.Tags) != 2 {
		t.Fatalf("task tags = %+v, %v", lt, err)
	}

	// StartTask on a named instance: the freed slot.
	stt, err := c.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String("work"), TaskDefinition: aws.String("web"),
		ContainerInstances: []string{aws.ToString(t0.ContainerInstanceArn)}})
	if err != nil || len(stt.Tasks) != 1 || aws.ToString(stt.Tasks[0].ContainerInstanceArn) != aws.ToString(t0.ContainerInstanceArn) {
		t.Fatalf("start task = %+v, %v", stt, err)
	}
	stt, err = c.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String("work"), TaskDefinition: aws.String("web"),
		ContainerInstances: []string{aws.ToString(t0.ContainerInstanceArn)}})
	if err != nil || len(stt.Tasks) != 0 || aws.ToString(stt.Failures[0].Reason) != "RESOURCE:CPU" {
		t.Fatalf("start task on a full instance = %+v, %v", stt, err)
	}
}

func TestECSRunTaskFargate(t *testing.T) {
	c, _ := ecsClient(t)
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("fg"), CapacityProviders: []string{"FARGATE"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterTaskDefinition(ctx, nginxTaskDef("nginx")); err != nil {
		t.Fatal(err)
	}
	var ipe *types.InvalidParameterException
	_, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("fg"), TaskDefinition: aws.String("nginx"), LaunchType: types.LaunchTypeFargate})
	if !errors.As(err, &ipe) || !strings.Contains(err.Error(), "Network Configuration must be provided") {
		t.Fatalf("no network configuration: %v", err)
	}
	net := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-wharf"}}}
	in := &ecs.RunTaskInput{Cluster: aws.String("fg"), TaskDefinition: aws.String("nginx"), NetworkConfiguration: net,
		Count: aws.Int32(2), ClientToken: aws.String("token-1")}
	run, err := c.RunTask(ctx, in)
	if err != nil || len(run.Tasks) != 2 {
		t.Fatalf("fargate run = %+v, %v", run, err)
	}
	tk := run.Tasks[0]
	if tk.LaunchType != types.LaunchTypeFargate || aws.ToString(tk.LastStatus) != "PROVISIONING" || aws.ToString(tk.CapacityProviderName) != "FARGATE" ||
		aws.ToString(tk.Cpu) != "512" || aws.ToString(tk.Memory) != "1024" || len(tk.Attachments) != 1 || aws.ToString(tk.PlatformVersion) == "" {
		t.Fatalf("fargate task = %+v", tk)
	}
	// The same client token returns the same tasks.
	again, err := c.RunTask(ctx, in)
	if err != nil || len(again.Tasks) != 2 || aws.ToString(again.Tasks[0].TaskArn) != aws.ToString(tk.TaskArn) {
		t.Fatalf("idempotent run = %+v, %v", again, err)
	}
	var cct *types.ClusterContainsTasksException
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("fg")}); !errors.As(err, &cct) {
		t.Fatalf("delete with tasks: %v", err)
	}
	for _, x := range run.Tasks {
		st, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("fg"), Task: x.TaskArn})
		if err != nil || aws.ToString(st.Task.LastStatus) != "STOPPED" || aws.ToString(st.Task.StoppedReason) != "Task stopped by user" {
			t.Fatalf("stop fargate = %+v, %v", st, err)
		}
	}
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("fg")}); err != nil {
		t.Fatal(err)
	}

	// Errors.
	bridgeTaskDef(t, c, "web", 128)
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("empty")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("empty"), TaskDefinition: aws.String("web")})
	if !errors.As(err, &ipe) || !strings.Contains(err.Error(), "No Container Instances were found in your cluster.") {
		t.Fatalf("no instances: %v", err)
	}
	_, err = c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("empty"), TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeFargate})
	if !errors.As(err, &ipe) || !strings.Contains(err.Error(), "does not support launch_type FARGATE") {
		t.Fatalf("bridge on fargate: %v", err)
	}
	_, err = c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("empty"), TaskDefinition: aws.String("web"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:x ==")}}})
	if !errors.As(err, &ipe) {
		t.Fatalf("bad constraint: %v", err)
	}
	var nf *types.ClusterNotFoundException
	if _, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("ghost"), TaskDefinition: aws.String("web")}); !errors.As(err, &nf) {
		t.Fatalf("unknown cluster: %v", err)
	}
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("empty"), Task: aws.String("0123")}); !errors.As(err, &ipe) {
		t.Fatalf("stop unknown: %v", err)
	}
}

// TestECSRunTaskConcurrentNeverOvercommits runs many RunTask calls at once
// on a small cluster: it ends exactly full, never over.
func TestECSRunTaskConcurrentNeverOvercommits(t *testing.T) {
	c, _ := ecsClient(t)
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("small")}); err != nil {
		t.Fatal(err)
	}
	var insts []types.ContainerInstance
	for i, az := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		insts = append(insts, registerInstance(t, c, "small", "i-00000000000000c"+string(rune('0'+i)), az, 1024, 8192))
	}
	bridgeTaskDef(t, c, "web", 256) // 4 per instance, 12 in all
	var wg sync.WaitGroup
	var mu sync.Mutex
	placed := 0
	for range 24 {
		wg.Go(func() {
			out, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("small"), TaskDefinition: aws.String("web")})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			placed += len(out.Tasks)
			mu.Unlock()
		})
	}
	wg.Wait()
	if placed != 12 {
		t.Fatalf("placed %d tasks, want exactly 12", placed)
	}
	var arns []string
	for _, ci := range insts {
		arns = append(arns, aws.ToString(ci.ContainerInstanceArn))
	}
	di, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("small"), ContainerInstances: arns})
	if err != nil {
		t.Fatal(err)
	}
	for _, ci := range di.ContainerInstances {
		if remainingCPU(ci) != 0 || ci.PendingTasksCount != 4 {
			t.Fatalf("instance %s: remaining cpu %d, pending %d", aws.ToString(ci.ContainerInstanceArn), remainingCPU(ci), ci.PendingTasksCount)
		}
	}
	l, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("small")})
	if err != nil || len(l.TaskArns) != 12 {
		t.Fatalf("tasks = %d, %v", len(l.TaskArns), err)
	}
}

func TestECSForceDeregisterOrphansTasks(t *testing.T) {
	c, _ := ecsClient(t)
	ctx := context.Background()
	ci := registerInstance(t, c, "", "i-00000000000000f1", "us-east-1a", 1024, 4096)
	bridgeTaskDef(t, c, "web", 256)
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(2)})
	if err != nil || len(run.Tasks) != 2 {
		t.Fatalf("run = %+v, %v", run, err)
	}
	var ipe *types.InvalidParameterException
	if _, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{ContainerInstance: ci.ContainerInstanceArn}); !errors.As(err, &ipe) {
		t.Fatalf("deregister with tasks: %v", err)
	}
	if _, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{ContainerInstance: ci.ContainerInstanceArn, Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	dt, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{aws.ToString(run.Tasks[0].TaskArn), aws.ToString(run.Tasks[1].TaskArn)}})
	if err != nil || len(dt.Tasks) != 2 {
		t.Fatalf("describe = %+v, %v", dt, err)
	}
	for _, tk := range dt.Tasks {
		if aws.ToString(tk.LastStatus) != "STOPPED" || aws.ToString(tk.StoppedReason) != "Container instance deregistration forced by user" {
			t.Fatalf("orphaned task = %+v", tk)
		}
	}
	dc, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
	if err != nil || dc.Clusters[0].PendingTasksCount != 0 || dc.Clusters[0].RegisteredContainerInstancesCount != 0 {
		t.Fatalf("cluster = %+v, %v", dc, err)
	}
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
}
