package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestFargateAWSLogs runs a FARGATE task whose busybox container prints
// numbered lines with the awslogs log driver (awslogs-create-group, a
// stream prefix, the execution role's credentials) and reads them back
// with the AWS CLI from the stream ECS names prefix/container/task-id.
func TestFargateAWSLogs(t *testing.T) {
	needDocker(t)
	w := startWharf(t)
	cfg := w.sdk()
	removeTaskContainers(t, w, "logs")
	ctx := context.Background()
	_, busybox := w.pushImages(cfg)
	execRole, taskRole := w.taskRoles(cfg)
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("logs")}); err != nil {
		t.Fatal(err)
	}
	const n = 30
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("printer"),
		NetworkMode: types.NetworkModeAwsvpc, RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: aws.String(execRole), TaskRoleArn: aws.String(taskRole),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("main"), Image: aws.String(busybox), Essential: aws.Bool(true),
			Command: []string{"sh", "-c", fmt.Sprintf(`i=1; while [ $i -le %d ]; do echo "hello $i"; i=$((i+1)); done; echo oops >&2; sleep 1`, n)},
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/printer", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("logs"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, out)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	waitTask(t, client, "logs", arn, 90*time.Second, "STOPPED", stopped)
	stream := "ecs/main/" + arn[strings.LastIndex(arn, "/")+1:]

	var got struct{ Events []struct{ Message string } }
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := w.aws(w.env(), "logs", "get-log-events", "--log-group-name", "/ecs/printer", "--log-stream-name", stream, "--start-from-head")
		if r.code == 0 {
			got.Events = nil
			w.mustAWS(w.env(), &got, "logs", "get-log-events", "--log-group-name", "/ecs/printer", "--log-stream-name", stream, "--start-from-head")
			if len(got.Events) >= n+1 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s: %d events after 30s (exit %d %s)", stream, len(got.Events), r.code, r.stderr)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(got.Events) != n+1 {
		t.Fatalf("%d events, want %d", len(got.Events), n+1)
	}
	// stdout and stderr are separate pipes: Docker stamps each line when
	// it reads it, so the stderr line may sort among the stdout ones.
	var lines []string
	oops := 0
	for _, e := range got.Events {
		if e.Message == "oops" {
			oops++
			continue
		}
		lines = append(lines, e.Message)
	}
	if oops != 1 {
		t.Errorf("the stderr line arrived %d times", oops)
	}
	for i := 0; i < n; i++ {
		if want := fmt.Sprintf("hello %d", i+1); i >= len(lines) || lines[i] != want {
			t.Fatalf("stdout lines %q, want hello 1..%d in order", lines, n)
		}
	}
}
