package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// asService makes cluster "as" and an EC2 service "web" whose tasks no
// instance runs: auto scaling acts on its desiredCount.
func asService(t *testing.T, w *wharf, env []string) {
	t.Helper()
	w.mustAWS(env, nil, "ecs", "create-cluster", "--cluster-name", "as")
	w.mustAWS(env, nil, "ecs", "register-task-definition", "--family", "web", "--container-definitions",
		`[{"name":"app","image":"busybox","cpu":128,"memory":128}]`)
	w.mustAWS(env, nil, "ecs", "create-service", "--cluster", "as", "--service-name", "web", "--task-definition", "web",
		"--desired-count", "1", "--launch-type", "EC2")
}

// TestAutoScalingCLI drives Application Auto Scaling with Debian's aws
// CLI v2: a target, a step policy attached to an alarm with
// put-metric-alarm --alarm-actions, the alarm set to ALARM, the service
// scaled, the activity explained; scheduled actions; errors.
func TestAutoScalingCLI(t *testing.T) {
	w := startWharfArgs(t, []string{"--target-tracking-period", "10s"})
	env := w.env()
	asService(t, w, env)
	target := []string{"--service-namespace", "ecs", "--scalable-dimension", "ecs:service:DesiredCount", "--resource-id", "service/as/web"}
	with := func(args ...string) []string {
		return append(append([]string{"application-autoscaling"}, args...), target...)
	}

	// Debian's CLI model predates ScalableTargetARN: the answer prints empty.
	w.mustAWS(env, nil, with("register-scalable-target", "--min-capacity", "1", "--max-capacity", "5")...)
	w.awsFails(env, "ValidationException", "application-autoscaling", "register-scalable-target", "--service-namespace", "dynamodb",
		"--scalable-dimension", "dynamodb:table:ReadCapacityUnits", "--resource-id", "table/t", "--min-capacity", "1", "--max-capacity", "2")
	w.awsFails(env, "ObjectNotFoundException", "application-autoscaling", "delete-scaling-policy", "--policy-name", "nope",
		"--service-namespace", "ecs", "--scalable-dimension", "ecs:service:DesiredCount", "--resource-id", "service/as/web")

	// Target tracking: the two alarms, 10-second periods.
	var tt struct {
		PolicyARN string
		Alarms    []struct{ AlarmName string }
	}
	w.mustAWS(env, &tt, with("put-scaling-policy", "--policy-name", "cpu75", "--policy-type", "TargetTrackingScaling",
		"--target-tracking-scaling-policy-configuration",
		`{"TargetValue":75,"PredefinedMetricSpecification":{"PredefinedMetricType":"ECSServiceAverageCPUUtilization"},"ScaleOutCooldown":60}`)...)
	if len(tt.Alarms) != 2 {
		t.Fatalf("target tracking: %+v", tt)
	}
	var al struct {
		MetricAlarms []struct {
			Period    int
			Threshold float64
		}
	}
	w.mustAWS(env, &al, "cloudwatch", "describe-alarms", "--alarm-names", tt.Alarms[0].AlarmName)
	if len(al.MetricAlarms) != 1 || al.MetricAlarms[0].Period != 10 || al.MetricAlarms[0].Threshold != 75 {
		t.Fatalf("high alarm: %+v", al)
	}

	// Step scaling on the user's alarm, fired by set-alarm-state.
	var step struct{ PolicyARN string }
	w.mustAWS(env, &step, with("put-scaling-policy", "--policy-name", "queue", "--policy-type", "StepScaling",
		"--step-scaling-policy-configuration",
		`{"AdjustmentType":"ChangeInCapacity","Cooldown":0,"StepAdjustments":[{"MetricIntervalLowerBound":0,"ScalingAdjustment":2}]}`)...)
	w.mustAWS(env, nil, "cloudwatch", "put-metric-alarm", "--alarm-name", "queue-deep", "--namespace", "App", "--metric-name", "Depth",
		"--statistic", "Average", "--period", "60", "--evaluation-periods", "1", "--threshold", "100",
		"--comparison-operator", "GreaterThanThreshold", "--alarm-actions", step.PolicyARN)
	w.mustAWS(env, nil, "cloudwatch", "set-alarm-state", "--alarm-name", "queue-deep", "--state-value", "ALARM", "--state-reason", "e2e")
	var svc struct {
		Services []struct{ DesiredCount int }
	}
	w.mustAWS(env, &svc, "ecs", "describe-services", "--cluster", "as", "--services", "web")
	if len(svc.Services) != 1 || svc.Services[0].DesiredCount != 3 {
		t.Fatalf("desired after the alarm: %+v", svc)
	}
	var acts struct {
		ScalingActivities []struct{ Cause, Description, StatusCode string }
	}
	w.mustAWS(env, &acts, "application-autoscaling", "describe-scaling-activities", "--service-namespace", "ecs", "--resource-id", "service/as/web")
	if len(acts.ScalingActivities) != 1 || acts.ScalingActivities[0].Cause != "monitor alarm queue-deep in state ALARM triggered policy queue" ||
		acts.ScalingActivities[0].Description != "Setting desired count to 3." || acts.ScalingActivities[0].StatusCode != "Successful" {
		t.Fatalf("activities: %+v", acts)
	}
	var pols struct {
		ScalingPolicies []struct {
			PolicyName string
			Alarms     []struct{ AlarmName string }
		}
	}
	w.mustAWS(env, &pols, "application-autoscaling", "describe-scaling-policies", "--service-namespace", "ecs", "--policy-names", "queue")
	if len(pols.ScalingPolicies) != 1 || len(pols.ScalingPolicies[0].Alarms) != 1 || pols.ScalingPolicies[0].Alarms[0].AlarmName != "queue-deep" {
		t.Fatalf("policies: %+v", pols)
	}

	// A scheduled action a few seconds ahead raises the minimum.
	at := time.Now().UTC().Add(3 * time.Second).Truncate(time.Second).Add(time.Second)
	w.mustAWS(env, nil, with("put-scheduled-action", "--scheduled-action-name", "soon", "--schedule", "at("+at.Format("2006-01-02T15:04:05")+")",
		"--scalable-target-action", "MinCapacity=4,MaxCapacity=5")...)
	w.mustAWS(env, nil, with("put-scheduled-action", "--scheduled-action-name", "weekdays", "--schedule", "cron(0 8 ? * MON-FRI *)",
		"--timezone", "America/New_York", "--scalable-target-action", "MinCapacity=1")...)
	w.awsFails(env, "ValidationException", with("put-scheduled-action", "--scheduled-action-name", "bad", "--schedule", "cron(0 8 * * * *)",
		"--scalable-target-action", "MinCapacity=1")...)
	var sa struct {
		ScheduledActions []struct{ ScheduledActionName, Schedule, Timezone string }
	}
	w.mustAWS(env, &sa, "application-autoscaling", "describe-scheduled-actions", "--service-namespace", "ecs", "--resource-id", "service/as/web")
	if len(sa.ScheduledActions) != 2 {
		t.Fatalf("scheduled actions: %+v", sa)
	}
	deadline := time.Now().Add(40 * time.Second)
	for {
		w.mustAWS(env, &svc, "ecs", "describe-services", "--cluster", "as", "--services", "web")
		if svc.Services[0].DesiredCount == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scheduled action did not raise desiredCount to 4: %+v", svc)
		}
		time.Sleep(500 * time.Millisecond)
	}
	w.mustAWS(env, nil, with("delete-scheduled-action", "--scheduled-action-name", "weekdays")...)
	w.mustAWS(env, nil, with("deregister-scalable-target")...)
	var tg struct{ ScalableTargets []any }
	w.mustAWS(env, &tg, "application-autoscaling", "describe-scalable-targets", "--service-namespace", "ecs")
	if len(tg.ScalableTargets) != 0 {
		t.Fatalf("targets after deregister: %+v", tg)
	}
}

// TestAutoScalingBoto3 runs testdata/boto3_autoscaling.py with Debian's
// python3-boto3.
func TestAutoScalingBoto3(t *testing.T) {
	if _, err := os.Stat(python3); err != nil {
		t.Fatalf("%s is missing: run scripts/test", python3)
	}
	w := startWharf(t)
	env := w.env()
	asService(t, w, env)
	cmd := exec.Command(python3, "testdata/boto3_autoscaling.py", "http://"+w.addr)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3_autoscaling.py: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "boto3 autoscaling: ok") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}
