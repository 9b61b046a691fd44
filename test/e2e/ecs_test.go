package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestAWSCLIECSTutorial runs ECS tutorial commands verbatim with Debian's
// aws CLI v2.
func TestAWSCLIECSTutorial(t *testing.T) {
	w := startWharf(t)
	env := w.env()

	var cluster struct {
		Cluster struct{ ClusterName, ClusterArn, Status string }
	}
	w.mustAWS(env, &cluster, "ecs", "create-cluster", "--cluster-name", "tutorial")
	if cluster.Cluster.Status != "ACTIVE" || !strings.HasSuffix(cluster.Cluster.ClusterArn, ":cluster/tutorial") {
		t.Fatalf("create-cluster: %+v", cluster)
	}

	var reg struct {
		TaskDefinition struct {
			TaskDefinitionArn string
			Revision          int
			Status, Cpu       string
			Memory            string
			NetworkMode       string
			Compatibilities   []string
		}
	}
	w.mustAWS(env, &reg, "ecs", "register-task-definition", "--family", "my-nginx-task", "--network-mode", "awsvpc",
		"--requires-compatibilities", "FARGATE", "--cpu", "512", "--memory", "1024",
		"--execution-role-arn", "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
		"--container-definitions", `[{"name":"nginx","image":"nginx:latest","portMappings":[{"containerPort":80,"hostPort":80,"protocol":"tcp"}],"essential":true}]`)
	td := reg.TaskDefinition
	if td.Revision != 1 || td.Status != "ACTIVE" || td.Cpu != "512" || td.Memory != "1024" || td.NetworkMode != "awsvpc" ||
		!strings.HasSuffix(td.TaskDefinitionArn, ":task-definition/my-nginx-task:1") {
		t.Fatalf("register-task-definition: %+v", td)
	}

	var desc struct {
		TaskDefinition struct {
			Revision             int
			ContainerDefinitions []struct {
				Name         string
				PortMappings []struct{ ContainerPort, HostPort int }
			}
		}
	}
	w.mustAWS(env, &desc, "ecs", "describe-task-definition", "--task-definition", "my-nginx-task")
	if desc.TaskDefinition.Revision != 1 || len(desc.TaskDefinition.ContainerDefinitions) != 1 ||
		desc.TaskDefinition.ContainerDefinitions[0].PortMappings[0].HostPort != 80 {
		t.Fatalf("describe-task-definition: %+v", desc)
	}

	var list struct{ TaskDefinitionArns []string }
	w.mustAWS(env, &list, "ecs", "list-task-definitions")
	if len(list.TaskDefinitionArns) != 1 {
		t.Fatalf("list-task-definitions: %+v", list)
	}
	var clusters struct{ ClusterArns []string }
	w.mustAWS(env, &clusters, "ecs", "list-clusters")
	if len(clusters.ClusterArns) != 1 {
		t.Fatalf("list-clusters: %+v", clusters)
	}
	var settings struct {
		Settings []struct{ Name, Value string }
	}
	w.mustAWS(env, &settings, "ecs", "list-account-settings", "--effective-settings")
	if len(settings.Settings) == 0 {
		t.Fatalf("list-account-settings: %+v", settings)
	}

	var run struct {
		Tasks []struct {
			TaskArn, LastStatus, LaunchType string
		}
		Failures []any
	}
	w.mustAWS(env, &run, "ecs", "run-task", "--cluster", "tutorial", "--launch-type", "FARGATE", "--task-definition", "my-nginx-task",
		"--network-configuration", "awsvpcConfiguration={subnets=[subnet-12345678],assignPublicIp=ENABLED}")
	if len(run.Tasks) != 1 || run.Tasks[0].LaunchType != "FARGATE" || run.Tasks[0].LastStatus != "PROVISIONING" {
		t.Fatalf("run-task: %+v", run)
	}
	// The tutorial's execution role does not exist here, so Wharf's
	// FARGATE capacity stops the task as ECS does: it cannot assume it.
	var stoppedDesc struct {
		Tasks []struct{ LastStatus, StoppedReason, StopCode string }
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		w.mustAWS(env, &stoppedDesc, "ecs", "describe-tasks", "--cluster", "tutorial", "--tasks", run.Tasks[0].TaskArn)
		if len(stoppedDesc.Tasks) == 1 && stoppedDesc.Tasks[0].LastStatus == "STOPPED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("describe-tasks: the task never stopped: %+v", stoppedDesc)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if d := stoppedDesc.Tasks[0]; d.StopCode != "TaskFailedToStart" || !strings.Contains(d.StoppedReason, "unable to assume the role") {
		t.Fatalf("stopped task: %+v", d)
	}
	var tasks struct{ TaskArns []string }
	w.mustAWS(env, &tasks, "ecs", "list-tasks", "--cluster", "tutorial", "--desired-status", "STOPPED")
	if len(tasks.TaskArns) != 1 || tasks.TaskArns[0] != run.Tasks[0].TaskArn {
		t.Fatalf("list-tasks: %+v", tasks)
	}
	w.mustAWS(env, nil, "ecs", "stop-task", "--cluster", "tutorial", "--task", run.Tasks[0].TaskArn, "--reason", "tutorial done")

	w.awsFails(env, "ClientException", "ecs", "register-task-definition", "--family", "bad", "--network-mode", "awsvpc",
		"--requires-compatibilities", "FARGATE", "--cpu", "512", "--memory", "512",
		"--container-definitions", `[{"name":"nginx","image":"nginx:latest"}]`)
	w.awsFails(env, "ClusterNotFoundException", "ecs", "delete-cluster", "--cluster", "nope")
	w.mustAWS(env, nil, "ecs", "deregister-task-definition", "--task-definition", "my-nginx-task:1")
	w.mustAWS(env, nil, "ecs", "delete-cluster", "--cluster", "tutorial")
}
