package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAWSCLIServiceWaiters runs a service with Debian's aws CLI v2 on a
// container instance played by a simulated agent (boto3, testdata/
// sim_agent.py) and checks the CLI's waiters: services-stable (also right
// after a scale-up), its MISSING failure, services-inactive.
func TestAWSCLIServiceWaiters(t *testing.T) {
	w := startWharf(t)
	env := w.env()
	w.mustAWS(env, nil, "ecs", "create-cluster", "--cluster-name", "web")
	w.mustAWS(env, nil, "ecs", "register-task-definition", "--family", "web",
		"--container-definitions", `[{"name":"web","image":"busybox","cpu":128,"memory":128,"essential":true}]`)
	w.mustAWS(env, nil, "ecs", "register-container-instance", "--cluster", "web",
		"--instance-identity-document", `{"instanceId":"i-0e2e0000000000001","availabilityZone":"us-east-1a","instanceType":"t3.large"}`,
		"--total-resources", `[{"name":"CPU","type":"INTEGER","integerValue":2048},{"name":"MEMORY","type":"INTEGER","integerValue":4096}]`)
	// boto3 finds the wharfagent model (the agent channel) through AWS_DATA_PATH.
	models := t.TempDir()
	if err := os.CopyFS(filepath.Join(models, "wharfagent"), os.DirFS("../../api/models/wharfagent")); err != nil {
		t.Fatal(err)
	}
	agent := exec.Command(python3, "testdata/sim_agent.py", "http://"+w.addr, "web")
	agent.Env = append(env, "AWS_DATA_PATH="+models)
	var agentOut strings.Builder
	agent.Stdout, agent.Stderr = &agentOut, &agentOut
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Process.Kill(); _ = agent.Wait() })

	var created struct {
		Service struct {
			ServiceArn, Status string
			Deployments        []struct{ Id, Status, RolloutState string }
		}
	}
	w.mustAWS(env, &created, "ecs", "create-service", "--cluster", "web", "--service-name", "web",
		"--task-definition", "web", "--desired-count", "2",
		"--deployment-configuration", "maximumPercent=200,minimumHealthyPercent=100,deploymentCircuitBreaker={enable=true,rollback=true}")
	if created.Service.Status != "ACTIVE" || len(created.Service.Deployments) != 1 || created.Service.Deployments[0].RolloutState != "IN_PROGRESS" {
		t.Fatalf("create-service: %+v", created)
	}
	type described struct {
		Services []struct {
			Status                     string
			RunningCount, DesiredCount int
			Deployments                []struct{ Status, RolloutState string }
			Events                     []struct{ Message string }
		}
		Failures []struct{ Arn, Reason string }
	}
	describe := func() described {
		var d described
		w.mustAWS(env, &d, "ecs", "describe-services", "--cluster", "web", "--services", "web")
		return d
	}
	deadline := time.Now().Add(20 * time.Second)
	for d := describe(); d.Services[0].RunningCount != 2; d = describe() {
		if time.Now().After(deadline) {
			t.Fatalf("service never ran 2 tasks: %+v\nagent:\n%s", d, agentOut.String())
		}
	}
	if r := w.aws(env, "ecs", "wait", "services-stable", "--cluster", "web", "--services", "web"); r.code != 0 {
		t.Fatalf("wait services-stable: exit %d\n%s", r.code, r.stderr)
	}
	// Scale to 3 and wait at once: the waiter succeeds at its first check
	// if the third task already runs, else after its 15 s delay.
	w.mustAWS(env, nil, "ecs", "update-service", "--cluster", "web", "--service", "web", "--desired-count", "3")
	start := time.Now()
	if r := w.aws(env, "ecs", "wait", "services-stable", "--cluster", "web", "--services", "web"); r.code != 0 {
		t.Fatalf("wait services-stable after scaling: exit %d\n%s", r.code, r.stderr)
	}
	t.Logf("services-stable after scaling to 3 returned in %v", time.Since(start).Round(time.Second))
	d := describe()
	if s := d.Services[0]; s.RunningCount != 3 || len(s.Deployments) != 1 || s.Deployments[0].Status != "PRIMARY" ||
		s.Deployments[0].RolloutState != "COMPLETED" {
		t.Fatalf("after the waiter: %+v", s)
	}
	// The waiter looks at the counts only; the scheduler records the steady
	// state on its next pass (1 s), which may come after the waiter's check.
	deadline = time.Now().Add(10 * time.Second)
	for ; !strings.Contains(d.Services[0].Events[0].Message, "(service web) has reached a steady state."); d = describe() {
		if time.Now().After(deadline) {
			t.Fatalf("no steady-state event after scaling to 3: %+v", d.Services[0])
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A service that does not exist is a terminal failure (MISSING).
	if r := w.aws(env, "ecs", "wait", "services-stable", "--cluster", "web", "--services", "ghost"); r.code == 0 ||
		!strings.Contains(r.stderr, "terminal failure") {
		t.Fatalf("waiter on a missing service: exit %d\n%s", r.code, r.stderr)
	}
	w.awsFails(env, "InvalidParameterException", "ecs", "delete-service", "--cluster", "web", "--service", "web")
	w.awsFails(env, "ServiceNotFoundException", "ecs", "update-service", "--cluster", "web", "--service", "ghost", "--desired-count", "1")
	w.mustAWS(env, nil, "ecs", "delete-service", "--cluster", "web", "--service", "web", "--force")
	deadline = time.Now().Add(20 * time.Second)
	for d := describe(); d.Services[0].Status != "INACTIVE"; d = describe() {
		if time.Now().After(deadline) {
			t.Fatalf("service never became INACTIVE: %+v", d)
		}
	}
	if r := w.aws(env, "ecs", "wait", "services-inactive", "--cluster", "web", "--services", "web"); r.code != 0 {
		t.Fatalf("wait services-inactive: exit %d\n%s", r.code, r.stderr)
	}
	var tasks struct{ TaskArns []string }
	w.mustAWS(env, &tasks, "ecs", "list-tasks", "--cluster", "web")
	if len(tasks.TaskArns) != 0 {
		t.Fatalf("tasks left after delete-service --force: %v", tasks.TaskArns)
	}
}
