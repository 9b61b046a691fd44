package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	dto "github.com/prometheus/client_model/go"

	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/wharftest"
)

// scrape fetches and parses the server's /metrics.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	mfs := wharftest.Scrape(t, url+"/metrics")
	if mfs == nil {
		t.Fatalf("nothing answers at %s/metrics", url)
	}
	return mfs
}

// TestPrometheusGauges drives ECS, CloudWatch and the API with the SDK and
// reads what the server's /metrics says of it, as Prometheus would.
func TestPrometheusGauges(t *testing.T) {
	env := wharftest.Start(t, func(c *server.Config) { c.ServiceSchedulerInterval = 100 * time.Millisecond })
	ctx := context.Background()
	cfg := env.Root()
	c := ecs.NewFromConfig(cfg)
	acct := env.Info.Account
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prom")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("prom"),
		InstanceIdentityDocument: aws.String(`{"instanceId":"i-0000000000000prom","availabilityZone":"us-east-1a"}`),
		TotalResources: []types.Resource{{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 2048},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 4096}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("busybox"), Cpu: 256,
			Memory: aws.Int32(512), Essential: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prom"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	svc := map[string]string{"account": acct, "region": "us-east-1", "cluster": "prom", "service": "web"}
	cl := map[string]string{"account": acct, "region": "us-east-1", "cluster": "prom"}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	type want struct {
		name   string
		labels map[string]string
		value  float64
	}
	// until scrapes until every want holds (the scheduler passes every
	// 100 ms; a snapshot answers for 2 s) or 15 s pass.
	until := func(ws ...want) map[string]*dto.MetricFamily {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			mfs := scrape(t, env.URL)
			var bad []string
			for _, w := range ws {
				if v, ok := wharftest.MetricValue(mfs, w.name, w.labels); !ok || v != w.value {
					bad = append(bad, fmt.Sprintf("%s%v = %v (present %v), want %v", w.name, w.labels, v, ok, w.value))
				}
			}
			if len(bad) == 0 {
				return mfs
			}
			if time.Now().After(deadline) {
				t.Fatalf("/metrics: %v", bad)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Two tasks placed, not yet run (no agent polls this instance).
	until(
		want{"wharf_ecs_service_desired_tasks", svc, 2},
		want{"wharf_ecs_service_pending_tasks", svc, 2},
		want{"wharf_ecs_service_running_tasks", svc, 0},
		want{"wharf_ecs_service_deployments", svc, 1},
		want{"wharf_ecs_cluster_active_services", cl, 1},
		want{"wharf_ecs_cluster_container_instances", with(cl, "status", "ACTIVE"), 1},
		want{"wharf_ecs_cluster_tasks", with(cl, "launch_type", "EC2", "status", "PENDING"), 2},
		want{"wharf_ecs_cluster_cpu_units", with(cl, "kind", "registered"), 2048},
		want{"wharf_ecs_cluster_cpu_units", with(cl, "kind", "remaining"), 2048 - 2*256},
		want{"wharf_ecs_cluster_memory_bytes", with(cl, "kind", "remaining"), (4096 - 2*512) << 20},
	)

	// Scaled to zero: the scheduler stops both.
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prom"), Service: aws.String("web"),
		DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	until(
		want{"wharf_ecs_service_desired_tasks", svc, 0},
		want{"wharf_ecs_service_pending_tasks", svc, 0},
	)

	// CloudWatch: datapoints and an alarm set to ALARM.
	cw := cloudwatch.NewFromConfig(cfg)
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: []cwtypes.MetricDatum{
		{MetricName: aws.String("q"), Value: aws.Float64(3)}, {MetricName: aws.String("q"), Value: aws.Float64(4)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("q-high"), Namespace: aws.String("App"),
		MetricName: aws.String("q"), Statistic: cwtypes.StatisticMaximum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(10), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold}); err != nil {
		t.Fatal(err)
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("q-high"), StateValue: cwtypes.StateValueAlarm,
		StateReason: aws.String("test")}); err != nil {
		t.Fatal(err)
	}
	// A refused call is counted with its code.
	_, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"web"}})
	if err == nil {
		t.Fatal("DescribeServices on a missing cluster succeeded")
	}
	mfs := until(
		want{"wharf_cloudwatch_datapoints_ingested_total", map[string]string{"source": "api"}, 2},
		want{"wharf_cloudwatch_alarms", map[string]string{"account": acct, "state": "ALARM"}, 1},
		want{"wharf_api_requests_total", map[string]string{"service": "ecs", "operation": "CreateService", "status": "200", "code": ""}, 1},
		want{"wharf_api_requests_total", map[string]string{"service": "ecs", "operation": "DescribeServices", "status": "400", "code": "ClusterNotFoundException"}, 1},
	)
	for _, name := range []string{"wharf_state_store_bytes", "wharf_registry_uploads_in_progress", "wharf_logs_ingested_events_total",
		"wharf_ecs_metrics_collect_duration_seconds", "wharf_api_request_duration_seconds", "go_goroutines"} {
		if _, ok := mfs[name]; !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if v, _ := wharftest.MetricValue(mfs, "wharf_state_store_bytes", nil); v <= 0 {
		t.Errorf("wharf_state_store_bytes = %v", v)
	}
}
