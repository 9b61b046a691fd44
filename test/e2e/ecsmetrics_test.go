package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestECSMetricsOnDocker runs two FARGATE services on the managed capacity
// — one whose container burns CPU, one idle — with --ecs-metrics-period
// 10s, and reads their AWS/ECS CPUUtilization and MemoryUtilization with
// Debian's `aws cloudwatch get-metric-statistics`. FARGATE tasks get a CPU
// quota of their task cpu (256 units: a quarter core), so the busy loop
// uses about all of its reservation: close to 100 %.
func TestECSMetricsOnDocker(t *testing.T) {
	needDocker(t)
	w := startWharfArgs(t, []string{"--ecs-metrics-period", "10s"})
	cfg := w.sdk()
	env := w.env()
	removeTaskContainers(t, w, "metrics")
	ctx := context.Background()
	_, busybox := w.pushImages(cfg)
	execRole, _ := w.taskRoles(cfg)
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("metrics")}); err != nil {
		t.Fatal(err)
	}
	register := func(family string, command ...string) string {
		out, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
			NetworkMode: types.NetworkModeAwsvpc, RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			Cpu: aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: aws.String(execRole),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(busybox), Essential: aws.Bool(true), Command: command}}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	tds := map[string]string{
		"burn": register("burn", "sh", "-c", "while :; do :; done"),
		"idle": register("idle", "sleep", "3600"),
	}
	for name, td := range tds {
		w.mustAWS(env, nil, "ecs", "create-service", "--cluster", "metrics", "--service-name", name, "--task-definition", td,
			"--desired-count", "1", "--launch-type", "FARGATE",
			"--network-configuration", "awsvpcConfiguration={subnets=[subnet-0123456789abcdef0]}")
	}
	if r := w.aws(env, "ecs", "wait", "services-stable", "--cluster", "metrics", "--services", "burn", "idle"); r.code != 0 {
		t.Fatalf("aws ecs wait services-stable: exit %d\n%s", r.code, r.stderr)
	}
	t.Cleanup(func() {
		for name := range tds {
			w.aws(env, "ecs", "delete-service", "--cluster", "metrics", "--service", name, "--force")
		}
	})

	type datapoint struct {
		Timestamp                              string
		Average, Minimum, Maximum, SampleCount float64
		Unit                                   string
	}
	latest := func(metric, service string) (datapoint, bool) {
		now := time.Now().UTC()
		var out struct{ Datapoints []datapoint }
		w.mustAWS(env, &out, "cloudwatch", "get-metric-statistics", "--namespace", "AWS/ECS", "--metric-name", metric,
			"--dimensions", "Name=ClusterName,Value=metrics", "Name=ServiceName,Value="+service,
			"--start-time", now.Add(-5*time.Minute).Format(time.RFC3339), "--end-time", now.Add(time.Minute).Format(time.RFC3339),
			"--period", "10", "--statistics", "Average", "Minimum", "Maximum", "SampleCount")
		var best datapoint
		for _, d := range out.Datapoints {
			if d.Timestamp > best.Timestamp {
				best = d
			}
		}
		return best, len(out.Datapoints) > 0
	}
	// Wait for two datapoints of the burner: the first period may be
	// partial (the task started within it).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var out struct{ Datapoints []datapoint }
		now := time.Now().UTC()
		w.mustAWS(env, &out, "cloudwatch", "get-metric-statistics", "--namespace", "AWS/ECS", "--metric-name", "CPUUtilization",
			"--dimensions", "Name=ClusterName,Value=metrics", "Name=ServiceName,Value=burn",
			"--start-time", now.Add(-5*time.Minute).Format(time.RFC3339), "--end-time", now.Add(time.Minute).Format(time.RFC3339),
			"--period", "10", "--statistics", "Average")
		if len(out.Datapoints) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("AWS/ECS CPUUtilization of burn: %d datapoints within 2 minutes\n%s", len(out.Datapoints), tail(w.out.String(), 3000))
		}
		time.Sleep(2 * time.Second)
	}
	burn, _ := latest("CPUUtilization", "burn")
	idle, ok := latest("CPUUtilization", "idle")
	t.Logf("CPUUtilization: burn %+v, idle %+v", burn, idle)
	if burn.Unit != "Percent" || burn.SampleCount != 1 || burn.Average < 70 || burn.Average > 115 {
		t.Errorf("burn: %+v; want one task near 100 %% of its 256 units", burn)
	}
	if !ok || idle.Average > 10 {
		t.Errorf("idle: %+v (found %v); want a datapoint below 10 %%", idle, ok)
	}
	for _, svc := range []string{"burn", "idle"} {
		m, ok := latest("MemoryUtilization", svc)
		// busybox uses well under 1 MiB of the 512 MiB reservation.
		if !ok || m.Average <= 0 || m.Average > 5 || m.Unit != "Percent" {
			t.Errorf("MemoryUtilization of %s: %+v (found %v)", svc, m, ok)
		}
	}
	// FARGATE tasks have no cluster-level metrics (ECS: EC2 only).
	var lm struct {
		Metrics []struct {
			Dimensions []struct{ Name, Value string }
		}
	}
	w.mustAWS(env, &lm, "cloudwatch", "list-metrics", "--namespace", "AWS/ECS")
	for _, m := range lm.Metrics {
		if len(m.Dimensions) != 2 {
			t.Errorf("a FARGATE-only cluster has a cluster-level metric: %+v", m)
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
