package integration

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharfhq/wharf/internal/agentclient"
)

// gpuInstance registers an instance with the GPUs Wharf's agent reports
// (the GPU STRINGSET resource and platform devices).
func gpuInstance(t *testing.T, c *ecs.Client, cluster, ec2ID string, gpus ...string) string {
	t.Helper()
	in := &ecs.RegisterContainerInstanceInput{
		Cluster:                  aws.String(cluster),
		InstanceIdentityDocument: aws.String(fmt.Sprintf(`{"instanceId":%q,"availabilityZone":"us-east-1a"}`, ec2ID)),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 4096},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 8192},
		},
		Attributes: []types.Attribute{{Name: aws.String("ecs.capability.gpu-driver-version"), Value: aws.String("535.104.05")}},
	}
	if len(gpus) > 0 {
		in.TotalResources = append(in.TotalResources, types.Resource{Name: aws.String("GPU"), Type: aws.String("STRINGSET"), StringSetValue: gpus})
		for _, g := range gpus {
			in.PlatformDevices = append(in.PlatformDevices, types.PlatformDevice{Id: aws.String(g), Type: types.PlatformDeviceTypeGpu})
		}
	}
	out, err := c.RegisterContainerInstance(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ContainerInstance.ContainerInstanceArn)
}

func remainingGPUs(t *testing.T, c *ecs.Client, cluster, arn string) []string {
	t.Helper()
	out, err := c.DescribeContainerInstances(context.Background(), &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: []string{arn}})
	if err != nil || len(out.ContainerInstances) != 1 {
		t.Fatalf("describe %s: %v", arn, err)
	}
	for _, r := range out.ContainerInstances[0].RemainingResources {
		if aws.ToString(r.Name) == "GPU" {
			return r.StringSetValue
		}
	}
	return nil
}

// TestGPUPlacement: a task whose containers ask for GPUs is placed only on
// an instance with enough of them, each container gets its own GPU IDs
// (in DescribeTasks and in the agent's assignment), the instance's
// remaining GPUs shrink until the task stops, and a task asking for more
// GPUs than any instance has stays unplaced with ECS's RESOURCE:GPU.
func TestGPUPlacement(t *testing.T) {
	c, env := ecsClient(t)
	ag := agentFor(env)
	ctx := context.Background()
	const cl = "gpus"
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cl)}); err != nil {
		t.Fatal(err)
	}
	plain := gpuInstance(t, c, cl, "i-0000000000000cpu")
	withGPUs := gpuInstance(t, c, cl, "i-0000000000000gpu", "GPU-aaaa-1111", "GPU-bbbb-2222")
	gpuReq := func(n string) []types.ResourceRequirement {
		return []types.ResourceRequirement{{Type: types.ResourceTypeGpu, Value: aws.String(n)}}
	}
	for family, n := range map[string][2]string{"cuda": {"1", "1"}, "huge": {"2", "1"}} {
		if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
			ContainerDefinitions: []types.ContainerDefinition{
				{Name: aws.String("train"), Image: aws.String("cuda"), Memory: aws.Int32(256), ResourceRequirements: gpuReq(n[0])},
				{Name: aws.String("eval"), Image: aws.String("cuda"), Memory: aws.Int32(256), ResourceRequirements: gpuReq(n[1])},
				{Name: aws.String("log"), Image: aws.String("busybox"), Memory: aws.Int32(64), Essential: aws.Bool(false)},
			}}); err != nil {
			t.Fatal(err)
		}
	}

	// More GPUs (3) than any instance has: unplaced, every instance says why.
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cl), TaskDefinition: aws.String("huge")})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Tasks) != 0 || len(run.Failures) != 2 {
		t.Fatalf("huge task: tasks %d failures %+v", len(run.Tasks), run.Failures)
	}
	for _, f := range run.Failures {
		if aws.ToString(f.Reason) != "RESOURCE:GPU" {
			t.Errorf("failure %s: reason %q, want RESOURCE:GPU", aws.ToString(f.Arn), aws.ToString(f.Reason))
		}
	}

	// Two GPUs: only the GPU instance fits; one GPU per container.
	run, err = c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cl), TaskDefinition: aws.String("cuda")})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("cuda task: %v %+v", err, run)
	}
	task := run.Tasks[0]
	taskARN := aws.ToString(task.TaskArn)
	if aws.ToString(task.ContainerInstanceArn) != withGPUs {
		t.Fatalf("placed on %s, want the GPU instance %s (not %s)", aws.ToString(task.ContainerInstanceArn), withGPUs, plain)
	}
	gpusOf := map[string][]string{}
	for _, ctr := range describeTask(t, c, cl, taskARN).Containers {
		gpusOf[aws.ToString(ctr.Name)] = ctr.GpuIds
	}
	all := append(slices.Clone(gpusOf["train"]), gpusOf["eval"]...)
	slices.Sort(all)
	if len(gpusOf["train"]) != 1 || len(gpusOf["eval"]) != 1 || len(gpusOf["log"]) != 0 || !slices.Equal(all, []string{"GPU-aaaa-1111", "GPU-bbbb-2222"}) {
		t.Fatalf("DescribeTasks gpuIds = %v", gpusOf)
	}
	if got := remainingGPUs(t, c, cl, withGPUs); len(got) != 0 {
		t.Fatalf("remaining GPUs while the task runs = %v", got)
	}

	// The agent's assignment pins the same GPUs to the same containers.
	p, err := ag.PollAssignments(ctx, &agentclient.PollInput{Cluster: cl, ContainerInstance: withGPUs, WaitSeconds: waitSecs(0)})
	if err != nil || len(p.Assignments) != 1 {
		t.Fatalf("poll: %v %+v", err, p)
	}
	for _, ac := range p.Assignments[0].Task.Containers {
		if !slices.Equal(ac.GPUIDs, gpusOf[ac.Name]) {
			t.Errorf("assignment container %s GPUs %v; DescribeTasks says %v", ac.Name, ac.GPUIDs, gpusOf[ac.Name])
		}
	}

	// No GPU left: a second copy is not placed.
	run2, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cl), TaskDefinition: aws.String("cuda")})
	if err != nil || len(run2.Tasks) != 0 || len(run2.Failures) != 2 || aws.ToString(run2.Failures[0].Reason) != "RESOURCE:GPU" {
		t.Fatalf("second cuda task while the GPUs are taken: %v %+v", err, run2)
	}

	// StartTask checks GPUs the same way, on the instances it is given.
	st, err := c.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String(cl), TaskDefinition: aws.String("cuda"), ContainerInstances: []string{plain, withGPUs}})
	if err != nil || len(st.Tasks) != 0 || len(st.Failures) != 2 {
		t.Fatalf("StartTask while no instance has 2 free GPUs: %v %+v", err, st)
	}
	for _, f := range st.Failures {
		if aws.ToString(f.Reason) != "RESOURCE:GPU" {
			t.Errorf("StartTask failure %s: %q, want RESOURCE:GPU", aws.ToString(f.Arn), aws.ToString(f.Reason))
		}
	}

	// The task stops: its GPUs are free again and the next task gets them.
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cl), Task: aws.String(taskARN)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Cluster: aws.String(cl), Task: aws.String(taskARN), Status: aws.String("STOPPED")}); err != nil {
		t.Fatal(err)
	}
	if got := remainingGPUs(t, c, cl, withGPUs); len(got) != 2 {
		t.Fatalf("remaining GPUs after the task stopped = %v", got)
	}
	st, err = c.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String(cl), TaskDefinition: aws.String("cuda"), ContainerInstances: []string{withGPUs}})
	if err != nil || len(st.Tasks) != 1 || len(st.Tasks[0].Containers) != 3 {
		t.Fatalf("StartTask after the GPUs were released: %v %+v", err, st)
	}
	for _, ctr := range st.Tasks[0].Containers {
		if n := len(ctr.GpuIds); (aws.ToString(ctr.Name) == "log") != (n == 0) {
			t.Errorf("StartTask container %s gpuIds %v", aws.ToString(ctr.Name), ctr.GpuIds)
		}
	}
	if got := remainingGPUs(t, c, cl, withGPUs); len(got) != 0 {
		t.Fatalf("remaining GPUs after StartTask = %v", got)
	}
}
