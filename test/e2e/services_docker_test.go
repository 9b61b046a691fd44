package e2e

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/testimg"
)

// TestServicesOnDocker runs a service of 3 FARGATE tasks on the real
// Docker Engine (Wharf's managed capacity): created and waited for with
// Debian's aws CLI, a task's container killed with `docker kill` and
// replaced, a rolling update (100/200) sampled so that fewer than 3 tasks
// never run, a revision whose container exits at once tripping the
// circuit breaker and rolling back, and DeleteService --force.
func TestServicesOnDocker(t *testing.T) {
	needDocker(t)
	w := startWharf(t)
	cfg := w.sdk()
	env := w.env()
	removeTaskContainers(t, w, "svc")
	ctx := context.Background()
	demo, busybox := w.pushImages(cfg)
	execRole, _ := w.taskRoles(cfg)
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("svc")}); err != nil {
		t.Fatal(err)
	}
	register := func(image string, command ...string) string {
		c := types.ContainerDefinition{Name: aws.String("web"), Image: aws.String(image), Essential: aws.Bool(true)}
		if len(command) > 0 {
			c.Command = command
		} else {
			c.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(8080)}}
		}
		out, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
			NetworkMode: types.NetworkModeAwsvpc, RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			Cpu: aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: aws.String(execRole), ContainerDefinitions: []types.ContainerDefinition{c}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	td1, td2, bad := register(demo), register(demo), register(busybox, "sh", "-c", "exit 1")

	describe := func() types.Service {
		out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("svc"), Services: []string{"web"}})
		if err != nil || len(out.Services) != 1 {
			t.Fatalf("describe: %v", err)
		}
		return out.Services[0]
	}
	events := func(s types.Service) string {
		var b strings.Builder
		for _, e := range s.Events {
			b.WriteString(aws.ToString(e.Message) + "\n")
		}
		return b.String()
	}
	until := func(what string, limit time.Duration, cond func(types.Service) bool) types.Service {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			s := describe()
			if cond(s) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s; running %d, deployments %+v; events:\n%s", what, limit, s.RunningCount, s.Deployments, events(s))
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	completedOn := func(td string) func(types.Service) bool {
		return func(s types.Service) bool {
			return len(s.Deployments) == 1 && aws.ToString(s.Deployments[0].TaskDefinition) == td &&
				s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted && s.RunningCount == 3
		}
	}
	waitStable := func() {
		t.Helper()
		if r := w.aws(env, "ecs", "wait", "services-stable", "--cluster", "svc", "--services", "web"); r.code != 0 {
			t.Fatalf("aws ecs wait services-stable: exit %d\n%s", r.code, r.stderr)
		}
	}

	w.mustAWS(env, nil, "ecs", "create-service", "--cluster", "svc", "--service-name", "web", "--task-definition", td1,
		"--desired-count", "3", "--launch-type", "FARGATE",
		"--network-configuration", "awsvpcConfiguration={subnets=[subnet-0123456789abcdef0]}",
		"--deployment-configuration", "maximumPercent=200,minimumHealthyPercent=100,deploymentCircuitBreaker={enable=true,rollback=true}")
	waitStable()
	until("the first deployment completed", 60*time.Second, completedOn(td1))

	// docker kill one task's container: the task stops and is replaced.
	engine := testimg.Engine(t)
	l, err := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("svc"), ServiceName: aws.String("web")})
	if err != nil || len(l.TaskArns) != 3 {
		t.Fatalf("tasks: %v %v", err, l)
	}
	victim := l.TaskArns[0]
	ctrs, err := engine.ListContainers(ctx, map[string]string{"com.amazonaws.ecs.task-arn": victim, "com.amazonaws.ecs.container-name": "web"})
	if err != nil || len(ctrs) != 1 {
		t.Fatalf("the victim's container: %v %+v", err, ctrs)
	}
	if out, err := exec.Command("docker", "kill", ctrs[0].ID).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v %s", err, out)
	}
	waitTask(t, client, "svc", victim, 60*time.Second, "STOPPED", stopped)
	until("a replacement", 90*time.Second, func(s types.Service) bool {
		return s.RunningCount == 3 && strings.Contains(events(s), "has started 1 tasks")
	})
	waitStable()

	// A rolling update, sampled all along.
	var mu sync.Mutex
	fewest, samples := 1<<30, 0
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			l, err := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("svc"), ServiceName: aws.String("web")})
			if err != nil || len(l.TaskArns) == 0 {
				continue
			}
			d, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("svc"), Tasks: l.TaskArns})
			if err != nil {
				continue
			}
			n := 0
			for _, tk := range d.Tasks {
				if aws.ToString(tk.LastStatus) == "RUNNING" && aws.ToString(tk.DesiredStatus) == "RUNNING" {
					n++
				}
			}
			mu.Lock()
			fewest, samples = min(fewest, n), samples+1
			mu.Unlock()
		}
	}()
	start := time.Now()
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("svc"), Service: aws.String("web"), TaskDefinition: aws.String(td2)}); err != nil {
		t.Fatal(err)
	}
	until("the rolling update", 120*time.Second, completedOn(td2))
	took := time.Since(start)
	close(stop)
	<-sampled
	t.Logf("rolling update of 3 FARGATE tasks: COMPLETED in %v; %d samples, fewest healthy %d", took.Round(100*time.Millisecond), samples, fewest)
	if fewest < 3 {
		t.Fatalf("the rolling update dropped to %d healthy tasks", fewest)
	}

	// A revision whose container exits at once: the breaker trips and rolls back.
	up, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("svc"), Service: aws.String("web"), TaskDefinition: aws.String(bad)})
	if err != nil {
		t.Fatal(err)
	}
	badID := aws.ToString(up.Service.Deployments[0].Id)
	s := until("the rollback", 180*time.Second, completedOn(td2))
	if ev := events(s); !strings.Contains(ev, "deployment "+badID+" deployment failed: tasks failed to start.") || !strings.Contains(ev, "rolling back to deployment ") {
		t.Fatalf("breaker events:\n%s", ev)
	}

	// DeleteService --force stops everything.
	w.mustAWS(env, nil, "ecs", "delete-service", "--cluster", "svc", "--service", "web", "--force")
	until("INACTIVE", 90*time.Second, func(s types.Service) bool { return aws.ToString(s.Status) == "INACTIVE" })
	if r := w.aws(env, "ecs", "wait", "services-inactive", "--cluster", "svc", "--services", "web"); r.code != 0 {
		t.Fatalf("wait services-inactive: exit %d\n%s", r.code, r.stderr)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctrs, err := engine.ListContainers(ctx, map[string]string{"com.amazonaws.ecs.cluster": "arn:aws:ecs:us-east-1:" + w.account() + ":cluster/svc"})
		if err != nil {
			t.Fatal(err)
		}
		runningCtrs := 0
		for _, c := range ctrs {
			if c.State == runtime.StateRunning {
				runningCtrs++
			}
		}
		if runningCtrs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d containers still running after DeleteService --force", runningCtrs)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestServiceRollingUpdate10OnDocker measures, on the real Docker Engine,
// the time from UpdateService to COMPLETED for a 10-task FARGATE service
// whose container has a health check at ECS's shortest interval (5 s; ECS
// refuses 1 s): new tasks count only once HEALTHY.
func TestServiceRollingUpdate10OnDocker(t *testing.T) {
	needDocker(t)
	w := startWharf(t)
	cfg := w.sdk()
	removeTaskContainers(t, w, "roll")
	ctx := context.Background()
	_, busybox := w.pushImages(cfg)
	execRole, _ := w.taskRoles(cfg)
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("roll")}); err != nil {
		t.Fatal(err)
	}
	var tds []string
	for range 2 {
		out, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("hc"),
			NetworkMode: types.NetworkModeAwsvpc, RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			Cpu: aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: aws.String(execRole),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(busybox), Essential: aws.Bool(true),
				Command: []string{"sleep", "3600"},
				// an init forwards StopTask's SIGTERM to sleep, which as PID 1
				// would ignore it: the old tasks then stop at once instead of
				// after the 30 s stop timeout, which would be most of the figure.
				LinuxParameters: &types.LinuxParameters{InitProcessEnabled: aws.Bool(true)},
				HealthCheck:     &types.HealthCheck{Command: []string{"CMD-SHELL", "true"}, Interval: aws.Int32(5), Timeout: aws.Int32(4), Retries: aws.Int32(5)}}}})
		if err != nil {
			t.Fatal(err)
		}
		tds = append(tds, aws.ToString(out.TaskDefinition.TaskDefinitionArn))
	}
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("roll"), ServiceName: aws.String("hc"),
		TaskDefinition: aws.String(tds[0]), DesiredCount: aws.Int32(10), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc,
		HealthCheckGracePeriodSeconds: aws.Int32(30)}); err != nil {
		t.Fatal(err)
	}
	completedOn := func(td string, limit time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("roll"), Services: []string{"hc"}})
			if err != nil {
				t.Fatal(err)
			}
			s := out.Services[0]
			if len(s.Deployments) == 1 && aws.ToString(s.Deployments[0].TaskDefinition) == td &&
				s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted {
				return time.Since(start)
			}
			if time.Since(start) > limit {
				t.Fatalf("not COMPLETED on %s within %s: running %d, %+v", td, limit, s.RunningCount, s.Deployments)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	first := completedOn(tds[0], 180*time.Second)
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("roll"), Service: aws.String("hc"), TaskDefinition: aws.String(tds[1])}); err != nil {
		t.Fatal(err)
	}
	took := completedOn(tds[1], 180*time.Second)
	t.Logf("10 FARGATE tasks with a 5 s health check: created to COMPLETED in %v; UpdateService to COMPLETED in %v",
		first.Round(100*time.Millisecond), took.Round(100*time.Millisecond))
	if _, err := client.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("roll"), Service: aws.String("hc"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
}
