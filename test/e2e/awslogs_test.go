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

// runLogTask registers a FARGATE task whose busybox container runs script
// with the awslogs driver (group /ecs/FAMILY, prefix ecs,
// awslogs-create-group) and runs it; it returns the task ARN and the log
// stream ECS names ecs/main/TASK-ID.
func runLogTask(t *testing.T, w *wharf, cluster, family, script string) (arn, stream string) {
	t.Helper()
	cfg := w.sdk()
	ctx := context.Background()
	_, busybox := w.pushImages(cfg)
	execRole, taskRole := w.taskRoles(cfg)
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
		NetworkMode: types.NetworkModeAwsvpc, RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: aws.String(execRole), TaskRoleArn: aws.String(taskRole),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("main"), Image: aws.String(busybox), Essential: aws.Bool(true),
			Command: []string{"sh", "-c", script},
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/" + family, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: awsvpc})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, out)
	}
	arn = aws.ToString(out.Tasks[0].TaskArn)
	return arn, "ecs/main/" + arn[strings.LastIndex(arn, "/")+1:]
}

// logMessages waits until the stream holds at least n events (or limit
// passes) and returns their messages, read with `aws logs get-log-events`.
func logMessages(t *testing.T, w *wharf, group, stream string, n int, limit time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var got struct{ Events []struct{ Message string } }
		r := w.aws(w.env(), "logs", "get-log-events", "--log-group-name", group, "--log-stream-name", stream, "--start-from-head")
		if r.code == 0 {
			w.mustAWS(w.env(), &got, "logs", "get-log-events", "--log-group-name", group, "--log-stream-name", stream, "--start-from-head")
		}
		if len(got.Events) >= n || time.Now().After(deadline) {
			var out []string
			for _, e := range got.Events {
				out = append(out, e.Message)
			}
			return out
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// inOrder fails unless lines are exactly prefix 1 … prefix n.
func inOrder(t *testing.T, lines []string, prefix string, n int) {
	t.Helper()
	if len(lines) != n {
		t.Fatalf("%d lines, want %d: %q", len(lines), n, lines)
	}
	for i, l := range lines {
		if want := fmt.Sprintf("%s %d", prefix, i+1); l != want {
			t.Fatalf("line %d = %q, want %q (all: %q)", i, l, want, lines)
		}
	}
}

// TestFargateAWSLogs runs a FARGATE task whose busybox container prints
// numbered lines (and one on stderr) with the awslogs log driver
// (awslogs-create-group, a stream prefix, the execution role's
// credentials) and reads them back with the AWS CLI from the stream ECS
// names prefix/container/task-id.
func TestFargateAWSLogs(t *testing.T) {
	needDocker(t)
	w := startWharf(t)
	removeTaskContainers(t, w, "logs")
	const n = 30
	arn, stream := runLogTask(t, w, "logs", "printer",
		fmt.Sprintf(`i=1; while [ $i -le %d ]; do echo "hello $i"; i=$((i+1)); done; echo oops >&2; sleep 1`, n))
	waitTask(t, ecs.NewFromConfig(w.sdk()), "logs", arn, 90*time.Second, "STOPPED", stopped)
	got := logMessages(t, w, "/ecs/printer", stream, n+1, 30*time.Second)
	// stdout and stderr are separate pipes: Docker stamps each line when
	// it reads it, so the stderr line may sort among the stdout ones.
	var lines []string
	oops := 0
	for _, m := range got {
		if m == "oops" {
			oops++
			continue
		}
		lines = append(lines, m)
	}
	if oops != 1 {
		t.Errorf("the stderr line arrived %d times", oops)
	}
	inOrder(t, lines, "hello", n)
}

// TestFargateAWSLogsAcrossRestart restarts Wharf (and so its managed
// agent) while a FARGATE task is printing: the restarted agent adopts the
// container and resumes shipping from its state file — every line arrives
// once, in order.
func TestFargateAWSLogsAcrossRestart(t *testing.T) {
	needDocker(t)
	w := startWharf(t)
	removeTaskContainers(t, w, "logs")
	const n = 80
	arn, stream := runLogTask(t, w, "logs", "ticker",
		fmt.Sprintf(`i=1; while [ $i -le %d ]; do echo "tick $i"; i=$((i+1)); sleep 0.1; done`, n))
	client := ecs.NewFromConfig(w.sdk())
	waitTask(t, client, "logs", arn, 90*time.Second, "RUNNING", running)
	before := logMessages(t, w, "/ecs/ticker", stream, 5, 30*time.Second)
	if len(before) == 0 || len(before) >= n {
		t.Fatalf("%d lines shipped before the restart; want some, not all", len(before))
	}
	w.restart()
	waitTask(t, client, "logs", arn, 90*time.Second, "STOPPED", stopped)
	logMessages(t, w, "/ecs/ticker", stream, n, 30*time.Second)
	time.Sleep(time.Second) // a duplicate would show up here
	got := logMessages(t, w, "/ecs/ticker", stream, n, 0)
	inOrder(t, got, "tick", n)
	t.Logf("%d lines before the restart, %d in all", len(before), len(got))
}
