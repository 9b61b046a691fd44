package integration

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharfhq/wharf/internal/agentclient"
	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/wharftest"
)

// TestECSMetrics: an agent submits task samples with SubmitTaskStats; the
// server publishes AWS/ECS datapoints every ECSMetricsPeriod, which the
// SDK reads with GetMetricStatistics and GetMetricData, with ECS's
// dimensions and values computed by ECS's formulas.
func TestECSMetrics(t *testing.T) {
	env := wharftest.Start(t, func(c *server.Config) { c.ECSMetricsPeriod = 2 * time.Second })
	c := ecs.NewFromConfig(env.Root())
	cw := cloudwatch.NewFromConfig(env.Root())
	ag := agentFor(env)
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("m")}); err != nil {
		t.Fatal(err)
	}
	agentInstance(t, c, "m", "i-00000000000000m1", "us-east-1a", 2048, 4096)
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("burn"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Cpu: 256, Memory: aws.Int32(512)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("m"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("burn"), DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	var svcTasks []string
	deadline := time.Now().Add(20 * time.Second)
	for len(svcTasks) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the service placed %d tasks", len(svcTasks))
		}
		l, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("m"), ServiceName: aws.String("web")})
		if err != nil {
			t.Fatal(err)
		}
		svcTasks = l.TaskArns
		time.Sleep(50 * time.Millisecond)
	}
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("m"), TaskDefinition: aws.String("burn")})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, run)
	}
	lone := aws.ToString(run.Tasks[0].TaskArn)
	for _, a := range append(svcTasks, lone) {
		if _, err := c.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Cluster: aws.String("m"), Task: aws.String(a), Status: aws.String("RUNNING")}); err != nil {
			t.Fatal(err)
		}
	}

	// Bad input: ECS's errors.
	_, err = ag.SubmitTaskStats(ctx, &agentclient.TaskStatsInput{Cluster: "nope", Tasks: []agentclient.TaskStats{{TaskARN: lone, Time: time.Now()}}})
	var ae *agentclient.Error
	if !errors.As(err, &ae) || ae.Code != "ClusterNotFoundException" || ae.StatusCode != 400 || ae.Message != "Cluster not found." {
		t.Errorf("unknown cluster: %v", err)
	}
	_, err = ag.SubmitTaskStats(ctx, &agentclient.TaskStatsInput{Cluster: "m", Tasks: []agentclient.TaskStats{{TaskARN: strings.Replace(lone, "task/m/", "task/other/", 1), Time: time.Now()}}})
	if !errors.As(err, &ae) || ae.Code != "InvalidParameterException" || ae.StatusCode != 400 || !strings.Contains(ae.Message, "is not a task ARN of cluster m") {
		t.Errorf("a task of another cluster: %v", err)
	}
	// An empty batch is acknowledged.
	_, err = ag.SubmitTaskStats(ctx, &agentclient.TaskStatsInput{Cluster: "m"})
	if err != nil {
		t.Errorf("an empty batch: %v", err)
	}

	// Service tasks use 256 and 128 of their 256 units, 128 and 256 of
	// their 512 MiB; the lone task 512 units and 64 MiB.
	samples := []agentclient.TaskStats{
		{TaskARN: svcTasks[0], CPUUnits: 256, MemoryMiB: 128},
		{TaskARN: svcTasks[1], CPUUnits: 128, MemoryMiB: 256},
		{TaskARN: lone, CPUUnits: 512, MemoryMiB: 64},
	}
	submit := func() {
		for i := range samples {
			samples[i].Time = time.Now()
		}
		secs, err := ag.SubmitTaskStats(ctx, &agentclient.TaskStatsInput{Cluster: "m", Tasks: samples})
		if err != nil {
			t.Fatal(err)
		}
		if secs != 5 {
			t.Errorf("sample interval = %d s, want 5 (half the period, at least 5 s)", secs)
		}
	}
	svc := []cwtypes.Dimension{{Name: aws.String("ClusterName"), Value: aws.String("m")}, {Name: aws.String("ServiceName"), Value: aws.String("web")}}
	cluster := []cwtypes.Dimension{{Name: aws.String("ClusterName"), Value: aws.String("m")}}
	stats := func(name string, dims []cwtypes.Dimension) []cwtypes.Datapoint {
		now := time.Now()
		out, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("AWS/ECS"), MetricName: aws.String(name),
			Dimensions: dims, StartTime: aws.Time(now.Add(-5 * time.Minute)), EndTime: aws.Time(now.Add(time.Minute)), Period: aws.Int32(1),
			Statistics: []cwtypes.Statistic{cwtypes.StatisticAverage, cwtypes.StatisticMinimum, cwtypes.StatisticMaximum, cwtypes.StatisticSampleCount}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Datapoints
	}
	deadline = time.Now().Add(30 * time.Second)
	for len(stats("CPUReservation", cluster)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no AWS/ECS datapoints within 30 s")
		}
		submit()
		time.Sleep(200 * time.Millisecond)
	}
	check := func(name string, dims []cwtypes.Dimension, avg, lo, hi, n float64) {
		t.Helper()
		dps := stats(name, dims)
		if len(dps) == 0 {
			t.Errorf("%s %v: no datapoints", name, dims)
			return
		}
		d := dps[len(dps)-1]
		if math.Abs(aws.ToFloat64(d.Average)-avg) > 1e-6 || math.Abs(aws.ToFloat64(d.Minimum)-lo) > 1e-6 ||
			math.Abs(aws.ToFloat64(d.Maximum)-hi) > 1e-6 || aws.ToFloat64(d.SampleCount) != n || d.Unit != cwtypes.StandardUnitPercent {
			t.Errorf("%s (%d dims): avg %v min %v max %v n %v %s; want %v %v %v %v Percent", name, len(dims), aws.ToFloat64(d.Average),
				aws.ToFloat64(d.Minimum), aws.ToFloat64(d.Maximum), aws.ToFloat64(d.SampleCount), d.Unit, avg, lo, hi, n)
		}
	}
	// Service: (256+128)×100/(256×2) = 75 %, tasks at 100 and 50 %.
	check("CPUUtilization", svc, 75, 50, 100, 2)
	// (128+256)×100/(512×2) = 37.5 %, tasks at 25 and 50 %.
	check("MemoryUtilization", svc, 37.5, 25, 50, 2)
	// Cluster (one instance): 3 tasks × 256 of 2048 units reserved, 3 ×
	// 512 of 4096 MiB; (256+128+512) of 2048 units and (128+256+64) of
	// 4096 MiB used.
	check("CPUReservation", cluster, 37.5, 37.5, 37.5, 1)
	check("MemoryReservation", cluster, 37.5, 37.5, 37.5, 1)
	check("CPUUtilization", cluster, 43.75, 43.75, 43.75, 1)
	check("MemoryUtilization", cluster, 10.9375, 10.9375, 10.9375, 1)

	// GetMetricData, as Application Auto Scaling's alarms read it.
	now := time.Now()
	md, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-5 * time.Minute)), EndTime: aws.Time(now.Add(time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("cpu"), MetricStat: &cwtypes.MetricStat{Period: aws.Int32(60), Stat: aws.String("Average"),
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/ECS"), MetricName: aws.String("CPUUtilization"), Dimensions: svc}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := md.MetricDataResults; len(r) != 1 || len(r[0].Values) == 0 || math.Abs(r[0].Values[0]-75) > 1e-6 {
		t.Errorf("GetMetricData = %+v", r)
	}
	// ListMetrics knows both dimension sets.
	lm, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/ECS"), MetricName: aws.String("CPUUtilization")})
	if err != nil || len(lm.Metrics) != 2 {
		t.Errorf("ListMetrics: %v %+v", err, lm)
	}

	// The server's /metrics has the service's gauges.
	resp, err := http.Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `wharf_ecs_service_cpu_utilization_percent{account="` + env.Info.Account + `",cluster="m",region="us-east-1",service="web"} 75`
	if !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
}
