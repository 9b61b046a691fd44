package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/wharfhq/wharf/internal/testimg"
)

// sdk returns an aws-sdk-go-v2 configuration for this wharf's root key.
func (w *wharf) sdk() aws.Config {
	w.t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithSharedCredentialsFiles([]string{filepath.Join(w.dataDir, "credentials")}),
		config.WithSharedConfigFiles([]string{filepath.Join(w.dataDir, "config")}),
		config.WithRegion("us-east-1"), config.WithBaseEndpoint("http://"+w.addr))
	if err != nil {
		w.t.Fatal(err)
	}
	return cfg
}

// needDocker skips the test when no Docker Engine answers, and fails it
// when the test is not root in CI (the task network and the link-local
// endpoint need it).
func needDocker(t testing.TB) {
	t.Helper()
	testimg.Engine(t)
	if os.Geteuid() != 0 {
		t.Skip("tasks on the Docker Engine need root (the task network and 169.254.170.2); scripts/test runs as root in CI")
	}
}

// removeTaskContainers removes, when the test ends, every container of
// the wharf's cluster that a failed test may have left running.
func removeTaskContainers(t testing.TB, w *wharf, cluster string) {
	c := testimg.Engine(t)
	acct := w.account()
	t.Cleanup(func() {
		ctx := context.Background()
		ctrs, err := c.ListContainers(ctx, map[string]string{"com.amazonaws.ecs.cluster": "arn:aws:ecs:us-east-1:" + acct + ":cluster/" + cluster})
		if err != nil {
			t.Errorf("list task containers: %v", err)
		}
		for _, ctr := range ctrs {
			_ = c.RemoveContainer(ctx, ctr.ID)
		}
	})
}

// account is the wharf's account ID.
func (w *wharf) account() string {
	w.t.Helper()
	var id struct{ Account string }
	w.mustAWS(w.env(), &id, "sts", "get-caller-identity")
	return id.Account
}

// pushImages pushes the demo and busybox images to this wharf's registry
// and returns their references.
func (w *wharf) pushImages(cfg aws.Config) (demo, busybox string) {
	w.t.Helper()
	ctx := context.Background()
	client := ecr.NewFromConfig(cfg)
	for _, repo := range []string{"demo", "busybox"} {
		if _, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); err != nil {
			w.t.Fatal(err)
		}
	}
	tok, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		w.t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(aws.ToString(tok.AuthorizationData[0].AuthorizationToken))
	user, pass, _ := strings.Cut(string(raw), ":")
	demo, busybox = w.addr+"/demo:latest", w.addr+"/busybox:latest"
	testimg.Push(w.t, testimg.Demo(w.t), demo, user, pass)
	testimg.Push(w.t, testimg.Busybox(w.t), busybox, user, pass)
	return demo, busybox
}

// taskRoles creates an execution role (registry pulls) and a task role,
// both trusting ecs-tasks.amazonaws.com, and returns their ARNs.
func (w *wharf) taskRoles(cfg aws.Config) (execRole, taskRole string) {
	w.t.Helper()
	ctx := context.Background()
	client := iam.NewFromConfig(cfg)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	allow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:*","logs:*"],"Resource":"*"}]}`
	var arns []string
	for _, name := range []string{"ecsTaskExecutionRole", "demo-task-role"} {
		out, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
		if err != nil {
			w.t.Fatal(err)
		}
		if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("p"),
			PolicyDocument: aws.String(allow)}); err != nil {
			w.t.Fatal(err)
		}
		arns = append(arns, aws.ToString(out.Role.Arn))
	}
	return arns[0], arns[1]
}

// waitTask polls DescribeTasks until cond holds (or fails after limit).
func waitTask(t testing.TB, client *ecs.Client, cluster, taskARN string, limit time.Duration, what string, cond func(types.Task) bool) types.Task {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last types.Task
	for {
		out, err := client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{taskARN}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Tasks) == 1 {
			last = out.Tasks[0]
			if cond(last) {
				return last
			}
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(last, "", "  ")
			t.Fatalf("task never became %s within %s; last seen:\n%s", what, limit, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func running(tk types.Task) bool { return aws.ToString(tk.LastStatus) == "RUNNING" }
func stopped(tk types.Task) bool { return aws.ToString(tk.LastStatus) == "STOPPED" }

// taskIP is the private IPv4 address of an awsvpc task's ENI.
func taskIP(t testing.TB, tk types.Task) string {
	t.Helper()
	for _, a := range tk.Attachments {
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" {
				return aws.ToString(d.Value)
			}
		}
	}
	t.Fatalf("task has no privateIPv4Address: %+v", tk.Attachments)
	return ""
}

func httpGet(t testing.TB, url string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 3 * time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return string(b)
			}
			err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var awsvpc = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-0123456789abcdef0"}}}

// TestFargateTasksOnDocker runs FARGATE tasks of images built here and
// pushed to Wharf's registry, on the real Docker Engine: a web server
// reachable on the task's IP, a sidecar reached over localhost, the task
// role seen from an SDK inside the container, StopTask, an essential
// container's exit code, a failing health check, and a missing image.
func TestFargateTasksOnDocker(t *testing.T) {
	needDocker(t)
	w := startWharf(t)
	cfg := w.sdk()
	removeTaskContainers(t, w, "fargate")
	ctx := context.Background()
	demo, busybox := w.pushImages(cfg)
	execRole, taskRole := w.taskRoles(cfg)
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("fargate")}); err != nil {
		t.Fatal(err)
	}
	register := func(family string, containers ...types.ContainerDefinition) string {
		out, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
			NetworkMode: types.NetworkModeAwsvpc, RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			Cpu: aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: aws.String(execRole), TaskRoleArn: aws.String(taskRole),
			ContainerDefinitions: containers})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	run := func(td string) string {
		out, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("fargate"), TaskDefinition: aws.String(td),
			LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Tasks) != 1 {
			t.Fatalf("RunTask: %+v", out.Failures)
		}
		return aws.ToString(out.Tasks[0].TaskArn)
	}

	t.Run("web server, sidecar over localhost, task role, StopTask", func(t *testing.T) {
		td := register("web",
			types.ContainerDefinition{Name: aws.String("web"), Image: aws.String(demo), Essential: aws.Bool(true),
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}}},
			types.ContainerDefinition{Name: aws.String("sidecar"), Image: aws.String(demo), Essential: aws.Bool(true),
				Environment: []types.KeyValuePair{{Name: aws.String("PORT"), Value: aws.String("9090")}}})
		arn := run(td)
		tk := waitTask(t, client, "fargate", arn, 90*time.Second, "RUNNING", running)
		if tk.ContainerInstanceArn != nil || tk.LaunchType != types.LaunchTypeFargate {
			t.Errorf("a FARGATE task shows an instance or launch type: %v %v", tk.ContainerInstanceArn, tk.LaunchType)
		}
		ip := taskIP(t, tk)
		if body := httpGet(t, "http://"+ip+":8080/", 30*time.Second); !strings.Contains(body, "hello from wharf demo") {
			t.Fatalf("GET /: %q", body)
		}
		if body := httpGet(t, "http://"+ip+":8080/get?url=http://localhost:9090/", 10*time.Second); !strings.Contains(body, "hello from wharf demo") {
			t.Fatalf("sidecar over localhost: %q", body)
		}
		who := httpGet(t, "http://"+ip+":8080/whoami", 20*time.Second)
		if !strings.Contains(who, ":assumed-role/demo-task-role/") {
			t.Fatalf("the SDK in the container is not the task role: %s", who)
		}
		if _, err := client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("fargate"), Task: aws.String(arn), Reason: aws.String("done")}); err != nil {
			t.Fatal(err)
		}
		tk = waitTask(t, client, "fargate", arn, 60*time.Second, "STOPPED", stopped)
		if tk.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(tk.StoppedReason) != "done" {
			t.Fatalf("stopped: code %q reason %q", tk.StopCode, aws.ToString(tk.StoppedReason))
		}
	})

	t.Run("essential container exits 3", func(t *testing.T) {
		td := register("exit3", types.ContainerDefinition{Name: aws.String("main"), Image: aws.String(busybox), Essential: aws.Bool(true),
			Command: []string{"sh", "-c", "sleep 1; exit 3"}})
		tk := waitTask(t, client, "fargate", run(td), 90*time.Second, "STOPPED", stopped)
		if tk.StopCode != types.TaskStopCodeEssentialContainerExited || len(tk.Containers) != 1 || aws.ToInt32(tk.Containers[0].ExitCode) != 3 {
			b, _ := json.Marshal(tk)
			t.Fatalf("want EssentialContainerExited with exit code 3: %s", b)
		}
	})

	t.Run("failing health check", func(t *testing.T) {
		td := register("sick", types.ContainerDefinition{Name: aws.String("main"), Image: aws.String(busybox), Essential: aws.Bool(true),
			Command: []string{"sleep", "3600"}, HealthCheck: &types.HealthCheck{Command: []string{"CMD-SHELL", "exit 1"},
				Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(1)}})
		arn := run(td)
		tk := waitTask(t, client, "fargate", arn, 60*time.Second, "UNHEALTHY", func(tk types.Task) bool {
			return tk.HealthStatus == types.HealthStatusUnhealthy
		})
		if tk.Containers[0].HealthStatus != types.HealthStatusUnhealthy {
			t.Fatalf("container health %q", tk.Containers[0].HealthStatus)
		}
		_, _ = client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("fargate"), Task: aws.String(arn)})
	})

	t.Run("missing image", func(t *testing.T) {
		td := register("missing", types.ContainerDefinition{Name: aws.String("main"), Image: aws.String(w.addr + "/demo:no-such-tag"), Essential: aws.Bool(true)})
		tk := waitTask(t, client, "fargate", run(td), 60*time.Second, "STOPPED", stopped)
		if r := aws.ToString(tk.StoppedReason); !strings.HasPrefix(r, "CannotPullContainerError") || !strings.Contains(r, "no-such-tag") {
			t.Fatalf("stoppedReason %q", aws.ToString(tk.StoppedReason))
		}
	})
}
