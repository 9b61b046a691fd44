package integration

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/wharfhq/wharf/internal/agentclient"
	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/wharftest"
)

// agentFor returns an agent channel client signing as the root key.
func agentFor(env *wharftest.Env) *agentclient.Client {
	return agentclient.New(env.URL, "us-east-1", credentials.NewStaticCredentialsProvider(env.Info.AccessKeyID, env.Info.SecretAccessKey, ""), nil)
}

// agentInstance registers an instance with the capabilities Wharf's agent
// reports (health checks, task ENIs, task roles).
func agentInstance(t *testing.T, c *ecs.Client, cluster, ec2ID, az string, cpu, mem int32) types.ContainerInstance {
	t.Helper()
	in := &ecs.RegisterContainerInstanceInput{
		InstanceIdentityDocument: aws.String(fmt.Sprintf(`{"instanceId":%q,"availabilityZone":%q}`, ec2ID, az)),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: cpu},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: mem},
		},
	}
	for _, a := range []string{"ecs.capability.container-health-check", "ecs.capability.task-eni", "com.amazonaws.ecs.capability.task-iam-role"} {
		in.Attributes = append(in.Attributes, types.Attribute{Name: aws.String(a)})
	}
	if cluster != "" {
		in.Cluster = aws.String(cluster)
	}
	out, err := c.RegisterContainerInstance(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return *out.ContainerInstance
}

func waitSecs(n int32) *int32 { return &n }

// pollResult is a poll answered in the background.
type pollResult struct {
	out *agentclient.PollOutput
	err error
}

func pollAsync(ag *agentclient.Client, in agentclient.PollInput) <-chan pollResult {
	ch := make(chan pollResult, 1)
	go func() {
		out, err := ag.PollAssignments(context.Background(), &in)
		ch <- pollResult{out, err}
	}()
	return ch
}

func webTaskDef(t *testing.T, c *ecs.Client, family string, mutate func(*ecs.RegisterTaskDefinitionInput)) {
	t.Helper()
	in := &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String("busybox"), Cpu: 256, Memory: aws.Int32(256), Essential: aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80)}},
			HealthCheck:  &types.HealthCheck{Command: []string{"CMD-SHELL", "true"}},
		}, {
			Name: aws.String("side"), Image: aws.String("busybox"), Cpu: 128, Memory: aws.Int32(128), Essential: aws.Bool(false),
		}},
	}
	if mutate != nil {
		mutate(in)
	}
	if _, err := c.RegisterTaskDefinition(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

func describeTask(t *testing.T, c *ecs.Client, cluster, arn string) types.Task {
	t.Helper()
	out, err := c.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("describe %s: %v %+v", arn, err, out)
	}
	return out.Tasks[0]
}

func TestAgentChannelPollAndStop(t *testing.T) {
	c, env := ecsClient(t)
	ag := agentFor(env)
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("ch")}); err != nil {
		t.Fatal(err)
	}
	inst := agentInstance(t, c, "ch", "i-0000000000000ch1", "us-east-1a", 2048, 4096)
	ci := aws.ToString(inst.ContainerInstanceArn)
	webTaskDef(t, c, "web", nil)

	// Nothing assigned yet: an immediate answer with no tasks.
	p0, err := ag.PollAssignments(ctx, &agentclient.PollInput{Cluster: "ch", ContainerInstance: ci, WaitSeconds: waitSecs(0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p0.Assignments) != 0 || p0.Status != "ACTIVE" {
		t.Fatalf("first poll = %+v", p0)
	}

	// A poll waiting with the current sequence wakes when RunTask places a task.
	waiting := pollAsync(ag, agentclient.PollInput{Cluster: "ch", ContainerInstance: ci, AckedSequence: p0.Sequence, WaitSeconds: waitSecs(20)})
	start := time.Now()
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("ch"), TaskDefinition: aws.String("web"), StartedBy: aws.String("me"),
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("web"), Environment: []types.KeyValuePair{{Name: aws.String("A"), Value: aws.String("1")}}}}}})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("run: %v %+v", err, run)
	}
	task := run.Tasks[0]
	taskArn := aws.ToString(task.TaskArn)
	r := <-waiting
	if r.err != nil {
		t.Fatal(r.err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("the waiting poll took %s to see the new task", time.Since(start))
	}
	p1 := r.out
	if p1.Sequence <= p0.Sequence || len(p1.Assignments) != 1 {
		t.Fatalf("poll after RunTask = %+v", p1)
	}
	a := p1.Assignments[0]
	doc := a.Task
	if a.TaskARN != taskArn || a.DesiredStatus != "RUNNING" || doc.TaskARN != taskArn || doc.LaunchType != "EC2" ||
		doc.ClusterARN != clusterARN(env, "ch") || aws.ToString(doc.Definition.Family) != "web" || len(doc.Definition.ContainerDefinitions) != 2 ||
		doc.Overrides == nil || len(doc.Overrides.ContainerOverrides) != 1 || doc.StartedBy != "me" || doc.Version < 1 || doc.ENI != nil {
		t.Fatalf("assignment = %+v", doc)
	}
	if len(doc.Containers) != 2 || doc.Containers[0].ContainerARN != aws.ToString(task.Containers[0].ContainerArn) {
		t.Fatalf("containers = %+v, want ARNs of %+v", doc.Containers, task.Containers)
	}
	pb := doc.Containers[0].PortBindings
	if len(pb) != 1 || pb[0].ContainerPort != 80 || pb[0].HostPort != aws.ToInt32(task.Containers[0].NetworkBindings[0].HostPort) || pb[0].Protocol != "tcp" {
		t.Fatalf("port bindings = %+v, task bindings %+v", pb, task.Containers[0].NetworkBindings)
	}

	// Acked: the next poll waits, and nothing comes without a change.
	acked := pollAsync(ag, agentclient.PollInput{Cluster: "ch", ContainerInstance: ci, AckedSequence: p1.Sequence, WaitSeconds: waitSecs(1)})
	r = <-acked
	if r.err != nil || r.out.Sequence != p1.Sequence || len(r.out.Assignments) != 0 {
		t.Fatalf("acked poll = %+v, %v", r.out, r.err)
	}

	// The agent runs it and reports; health comes in.
	if _, err := c.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Cluster: aws.String("ch"), Task: aws.String(taskArn), Status: aws.String("RUNNING"),
		PullStartedAt: aws.Time(time.Now()), PullStoppedAt: aws.Time(time.Now()),
		Containers: []types.ContainerStateChange{{ContainerName: aws.String("web"), Status: aws.String("RUNNING"), RuntimeId: aws.String("abc123"), ImageDigest: aws.String("sha256:00")}}}); err != nil {
		t.Fatal(err)
	}
	if got := string(describeTask(t, c, "ch", taskArn).HealthStatus); got != "UNKNOWN" {
		t.Fatalf("health before a report = %s", got)
	}
	if err := ag.SubmitTaskHealth(ctx, "ch", taskArn, []agentclient.ContainerHealth{{ContainerName: "web", HealthStatus: "HEALTHY"}}); err != nil {
		t.Fatal(err)
	}
	dt := describeTask(t, c, "ch", taskArn)
	if dt.HealthStatus != "HEALTHY" || dt.Containers[0].HealthStatus != types.HealthStatusHealthy || aws.ToString(dt.LastStatus) != "RUNNING" {
		t.Fatalf("after health report: %+v", dt)
	}
	if err := ag.SubmitTaskHealth(ctx, "ch", taskArn, []agentclient.ContainerHealth{{ContainerName: "web", HealthStatus: "UNHEALTHY"}}); err != nil {
		t.Fatal(err)
	}
	if got := string(describeTask(t, c, "ch", taskArn).HealthStatus); got != "UNHEALTHY" {
		t.Fatalf("health = %s, want UNHEALTHY", got)
	}

	// StopTask wakes a waiting poll; the answer carries the task desired STOPPED.
	waiting = pollAsync(ag, agentclient.PollInput{Cluster: "ch", ContainerInstance: ci, AckedSequence: p1.Sequence, WaitSeconds: waitSecs(20)})
	select {
	case r := <-waiting:
		t.Fatalf("poll answered without a change: %+v %v", r.out, r.err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("ch"), Task: aws.String(taskArn), Reason: aws.String("done")}); err != nil {
		t.Fatal(err)
	}
	r = <-waiting
	if r.err != nil || r.out.Sequence <= p1.Sequence || len(r.out.Assignments) != 1 {
		t.Fatalf("poll after StopTask = %+v, %v", r.out, r.err)
	}
	st := r.out.Assignments[0].Task
	if st.DesiredStatus != "STOPPED" || st.StopCode != "UserInitiated" || st.StoppedReason != "done" {
		t.Fatalf("stopping assignment = %+v", st)
	}
	p2 := r.out

	// The agent stops it; the task leaves the instance's answers.
	exit := int32(137)
	if _, err := c.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Cluster: aws.String("ch"), Task: aws.String(taskArn), Status: aws.String("STOPPED"),
		Reason: aws.String("Task stopped by user"), ExecutionStoppedAt: aws.Time(time.Now()),
		Containers: []types.ContainerStateChange{{ContainerName: aws.String("web"), Status: aws.String("STOPPED"), ExitCode: &exit}}}); err != nil {
		t.Fatal(err)
	}
	dt = describeTask(t, c, "ch", taskArn)
	if aws.ToString(dt.LastStatus) != "STOPPED" || dt.StopCode != types.TaskStopCodeUserInitiated || aws.ToInt32(dt.Containers[0].ExitCode) != 137 {
		t.Fatalf("stopped task = %+v", dt)
	}
	// A late report never resurrects it.
	if _, err := c.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Cluster: aws.String("ch"), Task: aws.String(taskArn), Status: aws.String("RUNNING")}); err != nil {
		t.Fatal(err)
	}
	if err := ag.SubmitTaskHealth(ctx, "ch", taskArn, []agentclient.ContainerHealth{{ContainerName: "web", HealthStatus: "HEALTHY"}}); err != nil {
		t.Fatal(err)
	}
	if dt := describeTask(t, c, "ch", taskArn); aws.ToString(dt.LastStatus) != "STOPPED" || dt.HealthStatus != "UNHEALTHY" {
		t.Fatalf("late report changed a stopped task: %+v", dt)
	}
	p3, err := ag.PollAssignments(ctx, &agentclient.PollInput{Cluster: "ch", ContainerInstance: ci, AckedSequence: p0.Sequence, WaitSeconds: waitSecs(0)})
	if err != nil || p3.Sequence < p2.Sequence || len(p3.Assignments) != 0 {
		t.Fatalf("poll after stop = %+v, %v", p3, err)
	}
	ins, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("ch"), ContainerInstances: []string{ci}})
	if err != nil || remainingCPU(ins.ContainerInstances[0]) != 2048 || !ins.ContainerInstances[0].AgentConnected {
		t.Fatalf("instance after stop: %v %+v", err, ins)
	}
}

func TestAgentChannelErrors(t *testing.T) {
	c, env := ecsClient(t)
	ag := agentFor(env)
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("e")}); err != nil {
		t.Fatal(err)
	}
	_, err := ag.PollAssignments(ctx, &agentclient.PollInput{Cluster: "nope", ContainerInstance: "abc"})
	if !agentclient.IsCode(err, "ClusterNotFoundException") {
		t.Fatalf("unknown cluster: %v", err)
	}
	_, err = ag.PollAssignments(ctx, &agentclient.PollInput{Cluster: "e", ContainerInstance: "0123456789abcdef0123456789abcdef"})
	if !agentclient.IsCode(err, "InvalidParameterException") {
		t.Fatalf("unknown instance: %v", err)
	}
	_, err = ag.PollAssignments(ctx, &agentclient.PollInput{Cluster: "e", ContainerInstance: "abc", WaitSeconds: waitSecs(61)})
	if !agentclient.IsCode(err, "InvalidParameterException") {
		t.Fatalf("wait 61: %v", err)
	}
	inst := agentInstance(t, c, "e", "i-00000000000000e1", "us-east-1a", 1024, 1024)
	ci := aws.ToString(inst.ContainerInstanceArn)
	if _, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("e"), ContainerInstance: aws.String(ci)}); err != nil {
		t.Fatal(err)
	}
	_, err = ag.PollAssignments(ctx, &agentclient.PollInput{Cluster: "e", ContainerInstance: ci})
	var ae *agentclient.Error
	if !agentclient.IsCode(err, "ClientException") || !strings.Contains(err.Error(), "INACTIVE") {
		t.Fatalf("deregistered instance: %v", err)
	}
	_ = ae
	err = ag.SubmitTaskHealth(ctx, "e", "0123456789abcdef0123456789abcdef", []agentclient.ContainerHealth{{ContainerName: "x", HealthStatus: "HEALTHY"}})
	if !agentclient.IsCode(err, "InvalidParameterException") {
		t.Fatalf("unknown task: %v", err)
	}
	err = ag.SubmitTaskHealth(ctx, "e", "t", []agentclient.ContainerHealth{{ContainerName: "x", HealthStatus: "GREAT"}})
	if !agentclient.IsCode(err, "InvalidParameterException") {
		t.Fatalf("bad health status: %v", err)
	}

	// IAM: PollAssignments is ecs:Poll, SubmitTaskHealth is ecs:SubmitTaskStateChange.
	root := iam.NewFromConfig(env.Root())
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("agent")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("agent"), PolicyName: aws.String("poll"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:Poll","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("agent")})
	if err != nil {
		t.Fatal(err)
	}
	user := agentclient.New(env.URL, "us-east-1", credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), ""), nil)
	inst2 := agentInstance(t, c, "e", "i-00000000000000e2", "us-east-1a", 1024, 1024)
	if _, err := user.PollAssignments(ctx, &agentclient.PollInput{Cluster: "e", ContainerInstance: aws.ToString(inst2.ContainerInstanceArn), WaitSeconds: waitSecs(0)}); err != nil {
		t.Fatalf("ecs:Poll allows PollAssignments: %v", err)
	}
	err = user.SubmitTaskHealth(ctx, "e", "t", []agentclient.ContainerHealth{{ContainerName: "x", HealthStatus: "HEALTHY"}})
	if !agentclient.IsCode(err, "AccessDeniedException") || !strings.Contains(err.Error(), "ecs:SubmitTaskStateChange") {
		t.Fatalf("SubmitTaskHealth without ecs:SubmitTaskStateChange: %v", err)
	}
}

// TestAgentChannelRestart: assignments are state in the store, so a poll
// with an old ack after a control-plane restart gets every task again.
func TestAgentChannelRestart(t *testing.T) {
	dir := t.TempDir()
	keys := func(cfg *server.Config) {
		cfg.DataDir, cfg.RootAccessKeyID, cfg.RootSecretAccessKey = dir, "AKIAWHARFRESTART0001", "restart-secret-restart-secret-0001"
	}
	env := wharftest.Start(t, keys)
	c := ecs.NewFromConfig(env.Root())
	ctx := context.Background()
	inst := agentInstance(t, c, "", "i-00000000000000r1", "us-east-1a", 2048, 4096)
	ci := aws.ToString(inst.ContainerInstanceArn)
	webTaskDef(t, c, "web", nil)
	ag := agentFor(env)
	p0, err := ag.PollAssignments(ctx, &agentclient.PollInput{ContainerInstance: ci, WaitSeconds: waitSecs(0)})
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(2)})
	if err != nil || len(run.Tasks) != 2 {
		t.Fatalf("run: %v %+v", err, run)
	}
	p1, err := ag.PollAssignments(ctx, &agentclient.PollInput{ContainerInstance: ci, AckedSequence: p0.Sequence, WaitSeconds: waitSecs(0)})
	if err != nil || len(p1.Assignments) != 2 {
		t.Fatalf("poll: %v %+v", err, p1)
	}
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := env.Server.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}

	env2 := wharftest.Start(t, keys)
	ag2 := agentFor(env2)
	// The agent missed p1: its old ack gets the whole state again.
	again, err := ag2.PollAssignments(ctx, &agentclient.PollInput{ContainerInstance: ci, AckedSequence: p0.Sequence, WaitSeconds: waitSecs(0)})
	if err != nil || again.Sequence != p1.Sequence || len(again.Assignments) != 2 {
		t.Fatalf("poll after restart with the old ack: %v %+v", err, again)
	}
	got := map[string]bool{}
	for _, a := range again.Assignments {
		got[a.TaskARN] = true
	}
	for _, tk := range run.Tasks {
		if !got[aws.ToString(tk.TaskArn)] {
			t.Fatalf("task %s lost across the restart: %+v", aws.ToString(tk.TaskArn), got)
		}
	}
	// An agent that had applied p1 sees no change.
	same, err := ag2.PollAssignments(ctx, &agentclient.PollInput{ContainerInstance: ci, AckedSequence: p1.Sequence, WaitSeconds: waitSecs(0)})
	if err != nil || same.Sequence != p1.Sequence || len(same.Assignments) != 0 {
		t.Fatalf("poll after restart with the current ack: %v %+v", err, same)
	}
}

func TestAgentChannelLostInstance(t *testing.T) {
	env := wharftest.Start(t, func(cfg *server.Config) {
		cfg.AgentTimeout, cfg.InstanceLostTimeout = 300*time.Millisecond, 600*time.Millisecond
	})
	c := ecs.NewFromConfig(env.Root())
	ag := agentFor(env)
	ctx := context.Background()
	inst := agentInstance(t, c, "", "i-00000000000000l1", "us-east-1a", 2048, 4096)
	ci := aws.ToString(inst.ContainerInstanceArn)
	webTaskDef(t, c, "web", nil)
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(2)})
	if err != nil || len(run.Tasks) != 2 {
		t.Fatalf("run: %v %+v", err, run)
	}
	started, pending := aws.ToString(run.Tasks[0].TaskArn), aws.ToString(run.Tasks[1].TaskArn)
	if _, err := ag.PollAssignments(ctx, &agentclient.PollInput{ContainerInstance: ci, WaitSeconds: waitSecs(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Task: aws.String(started), Status: aws.String("RUNNING")}); err != nil {
		t.Fatal(err)
	}
	// The agent goes silent; the monitor stops its tasks.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{started, pending}})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Tasks[0].LastStatus) == "STOPPED" && aws.ToString(out.Tasks[1].LastStatus) == "STOPPED" {
			for _, tk := range out.Tasks {
				if !strings.Contains(aws.ToString(tk.StoppedReason), "lost contact with the control plane") ||
					!strings.Contains(aws.ToString(tk.StoppedReason), "i-00000000000000l1") {
					t.Fatalf("stopped reason = %q", aws.ToString(tk.StoppedReason))
				}
				wantCode := types.TaskStopCode("")
				if aws.ToString(tk.TaskArn) == pending {
					wantCode = types.TaskStopCodeTaskFailedToStart
				}
				if tk.StopCode != wantCode {
					t.Fatalf("task %s stop code = %q, want %q", aws.ToString(tk.TaskArn), tk.StopCode, wantCode)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks of the lost instance not stopped: %+v", out.Tasks)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ins, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{ContainerInstances: []string{ci}})
	if err != nil {
		t.Fatal(err)
	}
	i := ins.ContainerInstances[0]
	if i.AgentConnected || remainingCPU(i) != 2048 || i.RunningTasksCount != 0 || i.PendingTasksCount != 0 {
		t.Fatalf("lost instance = connected %v, cpu %d, running %d, pending %d", i.AgentConnected, remainingCPU(i), i.RunningTasksCount, i.PendingTasksCount)
	}
	// No task is placed on a disconnected instance.
	_, err = c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web")})
	if code := apiCode(t, err); code != "InvalidParameterException" {
		t.Fatalf("RunTask with only a lost instance: %v", err)
	}
	// The agent comes back: connected again, and its answer lists nothing.
	p, err := ag.PollAssignments(ctx, &agentclient.PollInput{ContainerInstance: ci, WaitSeconds: waitSecs(0)})
	if err != nil || len(p.Assignments) != 0 {
		t.Fatalf("poll of the returning agent: %v %+v", err, p)
	}
	ins, _ = c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{ContainerInstances: []string{ci}})
	if !ins.ContainerInstances[0].AgentConnected {
		t.Fatal("a polling agent is not connected")
	}
}

func TestAgentChannelAwsvpc(t *testing.T) {
	c, env := ecsClient(t)
	ag := agentFor(env)
	ctx := context.Background()
	inst := agentInstance(t, c, "", "i-00000000000000v1", "us-east-1a", 4096, 8192)
	ci := aws.ToString(inst.ContainerInstanceArn)
	webTaskDef(t, c, "vpc", func(in *ecs.RegisterTaskDefinitionInput) {
		in.NetworkMode = types.NetworkModeAwsvpc
		in.ContainerDefinitions[0].PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(80)}}
	})
	netCfg := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-wharf"}, SecurityGroups: []string{"sg-1"}}}
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("vpc"), Count: aws.Int32(3), NetworkConfiguration: netCfg})
	if err != nil || len(run.Tasks) != 3 {
		t.Fatalf("run: %v %+v", err, run)
	}
	subnet := netip.MustParsePrefix("10.213.0.0/16")
	ips := map[string]string{}
	for _, tk := range run.Tasks {
		if len(tk.Attachments) != 1 {
			t.Fatalf("attachments = %+v", tk.Attachments)
		}
		at := tk.Attachments[0]
		d := map[string]string{}
		for _, kv := range at.Details {
			d[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
		}
		ip, err := netip.ParseAddr(d["privateIPv4Address"])
		if err != nil || !subnet.Contains(ip) || ip == netip.MustParseAddr("10.213.0.1") || ip == netip.MustParseAddr("10.213.0.0") {
			t.Fatalf("address %q: %v", d["privateIPv4Address"], err)
		}
		if aws.ToString(at.Type) != "ElasticNetworkInterface" || aws.ToString(at.Status) != "PRECREATED" || d["subnetId"] != "subnet-wharf" ||
			!strings.HasPrefix(d["networkInterfaceId"], "eni-") || !strings.HasPrefix(d["macAddress"], "02:") ||
			d["privateDnsName"] != "ip-"+strings.ReplaceAll(ip.String(), ".", "-")+".ec2.internal" {
			t.Fatalf("attachment = %+v", d)
		}
		if prev, dup := ips[ip.String()]; dup {
			t.Fatalf("address %s given to %s and %s", ip, prev, aws.ToString(tk.TaskArn))
		}
		ips[ip.String()] = aws.ToString(tk.TaskArn)
		ni := tk.Containers[0].NetworkInterfaces
		if len(ni) != 1 || aws.ToString(ni[0].PrivateIpv4Address) != ip.String() || aws.ToString(ni[0].AttachmentId) != aws.ToString(at.Id) {
			t.Fatalf("container network interfaces = %+v", ni)
		}
		if aws.ToString(tk.LastStatus) != "PROVISIONING" {
			t.Fatalf("awsvpc task status = %s", aws.ToString(tk.LastStatus))
		}
	}
	// The assignment carries the same interface.
	p, err := ag.PollAssignments(ctx, &agentclient.PollInput{ContainerInstance: ci, WaitSeconds: waitSecs(0)})
	if err != nil || len(p.Assignments) != 3 {
		t.Fatalf("poll: %v %+v", err, p)
	}
	for _, a := range p.Assignments {
		e := a.Task.ENI
		if e == nil || ips[e.PrivateIPv4] != a.TaskARN || e.Network != "wharf-awsvpc" || e.SubnetCIDR != "10.213.0.0/16" || e.Gateway != "10.213.0.1" ||
			!strings.HasPrefix(e.MACAddress, "02:") || e.AttachmentID == "" {
			t.Fatalf("assignment ENI = %+v", e)
		}
	}
	// RUNNING attaches it; STOPPED deletes it.
	first := aws.ToString(run.Tasks[0].TaskArn)
	if _, err := c.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Task: aws.String(first), Status: aws.String("RUNNING")}); err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(describeTask(t, c, "default", first).Attachments[0].Status); got != "ATTACHED" {
		t.Fatalf("attachment of a running task = %s", got)
	}
	if _, err := c.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Task: aws.String(first), Status: aws.String("STOPPED"), Reason: aws.String("Essential container in task exited")}); err != nil {
		t.Fatal(err)
	}
	dt := describeTask(t, c, "default", first)
	if aws.ToString(dt.Attachments[0].Status) != "DELETED" || dt.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Fatalf("stopped awsvpc task = %+v", dt)
	}
}

// TestAgentChannelTaskRole: a task role whose trust policy lets
// ecs-tasks.amazonaws.com in gets credentials in the assignment, and they
// sign STS calls as the assumed role; a role that does not trust ECS stops
// the task as ECS does.
func TestAgentChannelTaskRole(t *testing.T) {
	c, env := ecsClient(t)
	ag := agentFor(env)
	ctx := context.Background()
	root := iam.NewFromConfig(env.Root())
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	role, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	other := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	bad, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("notecs"), AssumeRolePolicyDocument: aws.String(other)})
	if err != nil {
		t.Fatal(err)
	}
	inst := agentInstance(t, c, "", "i-00000000000000k1", "us-east-1a", 4096, 8192)
	ci := aws.ToString(inst.ContainerInstanceArn)
	webTaskDef(t, c, "withrole", func(in *ecs.RegisterTaskDefinitionInput) {
		in.TaskRoleArn, in.ExecutionRoleArn = role.Role.Arn, role.Role.Arn
	})
	webTaskDef(t, c, "badrole", func(in *ecs.RegisterTaskDefinitionInput) { in.TaskRoleArn = bad.Role.Arn })
	good, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("withrole")})
	if err != nil {
		t.Fatal(err)
	}
	denied, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("badrole")})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ag.PollAssignments(ctx, &agentclient.PollInput{ContainerInstance: ci, WaitSeconds: waitSecs(0)})
	if err != nil || len(p.Assignments) != 1 || p.Assignments[0].TaskARN != aws.ToString(good.Tasks[0].TaskArn) {
		t.Fatalf("poll: %v %+v", err, p)
	}
	doc := p.Assignments[0].Task
	tr := doc.TaskRole
	if tr == nil || doc.ExecutionRole == nil || tr.RoleARN != aws.ToString(role.Role.Arn) || !strings.HasPrefix(tr.AccessKeyID, "ASIA") ||
		tr.SessionToken == "" || time.Until(tr.Expiration) < 30*time.Minute {
		t.Fatalf("task role credentials = %+v", tr)
	}
	id, err := sts.NewFromConfig(env.Config(tr.AccessKeyID, tr.SecretAccessKey, tr.SessionToken)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	taskID := aws.ToString(good.Tasks[0].TaskArn)[strings.LastIndex(aws.ToString(good.Tasks[0].TaskArn), "/")+1:]
	if want := "arn:aws:sts::" + env.Info.Account + ":assumed-role/app/" + taskID; aws.ToString(id.Arn) != want {
		t.Fatalf("caller = %s, want %s", aws.ToString(id.Arn), want)
	}
	// The same credentials come back until they are due for renewal.
	again, err := ag.PollAssignments(ctx, &agentclient.PollInput{ContainerInstance: ci, WaitSeconds: waitSecs(0)})
	if err != nil || again.Sequence != p.Sequence || again.Assignments[0].Task.TaskRole.AccessKeyID != tr.AccessKeyID {
		t.Fatalf("second poll: %v %+v", err, again)
	}
	dt := describeTask(t, c, "default", aws.ToString(denied.Tasks[0].TaskArn))
	if aws.ToString(dt.LastStatus) != "STOPPED" || dt.StopCode != types.TaskStopCodeTaskFailedToStart ||
		!strings.Contains(aws.ToString(dt.StoppedReason), "unable to assume the role '"+aws.ToString(bad.Role.Arn)+"'") {
		t.Fatalf("task with an untrusting role = %+v", dt)
	}
}
