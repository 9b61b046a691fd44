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

// TestAutoScalingOnDocker: a FARGATE service whose container burns CPU
// until a set time scales out under a target tracking policy on
// ECSServiceAverageCPUUtilization (target 50 %, 1 to 3 tasks) and back in
// to 1 when the load stops — with --ecs-metrics-period and
// --target-tracking-period at 10 s, so it takes minutes: three periods
// above the target to scale out, fifteen under 90 % of it to scale in.
func TestAutoScalingOnDocker(t *testing.T) {
	needDocker(t)
	w := startWharfArgs(t, []string{"--ecs-metrics-period", "10s", "--target-tracking-period", "10s"})
	cfg := w.sdk()
	env := w.env()
	removeTaskContainers(t, w, "scale")
	ctx := context.Background()
	_, busybox := w.pushImages(cfg)
	execRole, _ := w.taskRoles(cfg)
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("scale")}); err != nil {
		t.Fatal(err)
	}
	// Every task burns its quarter core until loadUntil, then idles: the
	// tasks added by scaling out stop at the same time as the first.
	loadUntil := time.Now().Add(150 * time.Second)
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("burn"),
		NetworkMode: types.NetworkModeAwsvpc, RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: aws.String(execRole),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(busybox), Essential: aws.Bool(true),
			Environment: []types.KeyValuePair{{Name: aws.String("LOAD_UNTIL"), Value: aws.String(fmt.Sprint(loadUntil.Unix()))}},
			Command:     []string{"sh", "-c", `while [ "$(date +%s)" -lt "$LOAD_UNTIL" ]; do :; done; exec sleep 3600`}}}})
	if err != nil {
		t.Fatal(err)
	}
	w.mustAWS(env, nil, "ecs", "create-service", "--cluster", "scale", "--service-name", "web",
		"--task-definition", aws.ToString(td.TaskDefinition.TaskDefinitionArn), "--desired-count", "1", "--launch-type", "FARGATE",
		"--network-configuration", "awsvpcConfiguration={subnets=[subnet-0123456789abcdef0]}")
	t.Cleanup(func() { w.aws(env, "ecs", "delete-service", "--cluster", "scale", "--service", "web", "--force") })
	target := []string{"--service-namespace", "ecs", "--scalable-dimension", "ecs:service:DesiredCount", "--resource-id", "service/scale/web"}
	w.mustAWS(env, nil, append([]string{"application-autoscaling", "register-scalable-target", "--min-capacity", "1", "--max-capacity", "3"}, target...)...)
	w.mustAWS(env, nil, append([]string{"application-autoscaling", "put-scaling-policy", "--policy-name", "cpu50", "--policy-type", "TargetTrackingScaling",
		"--target-tracking-scaling-policy-configuration",
		`{"TargetValue":50,"PredefinedMetricSpecification":{"PredefinedMetricType":"ECSServiceAverageCPUUtilization"},"ScaleOutCooldown":0,"ScaleInCooldown":0}`},
		target...)...)

	describe := func() types.Service {
		out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("scale"), Services: []string{"web"}})
		if err != nil || len(out.Services) != 1 {
			t.Fatalf("describe: %v", err)
		}
		return out.Services[0]
	}
	activities := func() string {
		var acts struct {
			ScalingActivities []struct{ Cause, Description string }
		}
		w.mustAWS(env, &acts, "application-autoscaling", "describe-scaling-activities", "--service-namespace", "ecs", "--resource-id", "service/scale/web")
		var b strings.Builder
		for _, a := range acts.ScalingActivities {
			b.WriteString(a.Description + " (" + a.Cause + ")\n")
		}
		return b.String()
	}
	// Scale out while the load lasts; never past the maximum.
	peak := int32(1)
	for time.Now().Before(loadUntil) && peak < 3 {
		s := describe()
		if s.DesiredCount > 3 {
			t.Fatalf("desiredCount %d past the maximum 3", s.DesiredCount)
		}
		peak = max(peak, s.DesiredCount)
		time.Sleep(2 * time.Second)
	}
	if peak < 2 {
		t.Fatalf("no scale-out while the tasks burned CPU; activities:\n%s%s", activities(), tail(w.out.String(), 3000))
	}
	t.Logf("scaled out to %d; activities:\n%s", peak, activities())
	// The load stops: fifteen 10-second periods under 45 %, then back to 1.
	deadline := loadUntil.Add(4 * time.Minute)
	for {
		s := describe()
		if s.DesiredCount > 3 {
			t.Fatalf("desiredCount %d past the maximum 3", s.DesiredCount)
		}
		if s.DesiredCount == 1 && time.Now().After(loadUntil) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not scaled in to 1 within 4 minutes of the load's end (desired %d); activities:\n%s", s.DesiredCount, activities())
		}
		time.Sleep(3 * time.Second)
	}
	acts := activities()
	t.Logf("activities:\n%s", acts)
	if !strings.Contains(acts, "Setting desired count to 1. (monitor alarm TargetTracking-service/scale/web-AlarmLow-") {
		t.Fatalf("the scale-in is not the low alarm's:\n%s", acts)
	}
}
