package ecsmetrics

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wharfhq/wharf/internal/cloudwatch/tsdb"
	"github.com/wharfhq/wharf/internal/ecs"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// source is an in-memory ECS view.
type source struct {
	tasks []ecs.MetricsTask
	insts []ecs.MetricsInstance
	asked []string
}

func (s *source) MetricsSnapshot(ctx context.Context, arns []string) ([]ecs.MetricsTask, []ecs.MetricsInstance, error) {
	if _, err := tenancy.Account(ctx); err != nil {
		return nil, nil, err
	}
	s.asked = arns
	var out []ecs.MetricsTask
	for _, t := range s.tasks {
		for _, a := range arns {
			if a == t.TaskARN {
				out = append(out, t)
			}
		}
	}
	return out, s.insts, nil
}

const (
	acct   = "000000000000"
	region = "us-east-1"
	arn1   = "arn:aws:ecs:us-east-1:000000000000:task/c/1"
	arn2   = "arn:aws:ecs:us-east-1:000000000000:task/c/2"
	arn3   = "arn:aws:ecs:us-east-1:000000000000:task/c/3"
)

func TestPublish(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	db := tsdb.NewMemory(clock)
	src := &source{tasks: []ecs.MetricsTask{
		{TaskARN: arn1, Cluster: "c", Group: "service:web", LaunchType: "FARGATE", LastStatus: "RUNNING", CPU: 256, MemoryMiB: 512},
		{TaskARN: arn2, Cluster: "c", Group: "service:web", LaunchType: "FARGATE", LastStatus: "RUNNING", CPU: 256, MemoryMiB: 512},
		{TaskARN: arn3, Cluster: "c", Group: "service:web", LaunchType: "FARGATE", LastStatus: "STOPPED", CPU: 256, MemoryMiB: 512},
	}}
	reg := prometheus.NewRegistry()
	p := New(Options{ECS: src, Metrics: db, Period: 10 * time.Second, Registerer: reg, Now: clock})
	if got := p.SampleInterval(); got != 5*time.Second {
		t.Errorf("SampleInterval = %s, want 5s", got)
	}
	// Two samples of task 1 are averaged; the stopped task 3 is left out.
	p.TaskStats(acct, region, []ecs.TaskSample{{TaskARN: arn1, CPUUnits: 200, MemoryMiB: 100}, {TaskARN: arn2, CPUUnits: 0, MemoryMiB: 50}})
	p.TaskStats(acct, region, []ecs.TaskSample{{TaskARN: arn1, CPUUnits: 312, MemoryMiB: 100}, {TaskARN: arn3, CPUUnits: 1024, MemoryMiB: 512}})
	end := now.Truncate(10 * time.Second).Add(10 * time.Second)
	if err := p.Publish(context.Background(), end); err != nil {
		t.Fatal(err)
	}
	q := tsdb.Query{Metric: tsdb.Metric{Namespace: "AWS/ECS", Name: "CPUUtilization",
		Dims: []tsdb.Dim{{Name: "ClusterName", Value: "c"}, {Name: "ServiceName", Value: "web"}}},
		Start: end.Add(-time.Minute).Unix(), End: end.Unix(), Period: 10}
	tn := tsdb.Tenant{Account: acct, Region: region}
	bs := db.Get(tn, q)
	if len(bs) != 1 {
		t.Fatalf("CPUUtilization buckets: %+v", bs)
	}
	b := bs[0]
	if b.T != end.Add(-10*time.Second).Unix() || b.Unit != "Percent" || b.Count != 2 || b.Max != 100 || b.Min != 0 || b.Sum != 100 {
		t.Errorf("bucket %+v: want the period's start, Percent, 2 tasks, Sum 100 (Average 50), Min 0, Max 100", b)
	}
	q.Name = "MemoryUtilization"
	if bs := db.Get(tn, q); len(bs) != 1 || bs[0].Sum/bs[0].Count != 150*100.0/1024 {
		t.Errorf("MemoryUtilization %+v", bs)
	}
	g := gauges(t, reg)
	if g["wharf_ecs_service_cpu_utilization_percent"] != 50 || g["wharf_ecs_service_measured_tasks"] != 2 {
		t.Errorf("gauges %v: want cpu 50, tasks 2", g)
	}

	// No new sample in the next period: the last one stands in once…
	if err := p.Publish(context.Background(), end.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	q.Name = "CPUUtilization"
	q.End = end.Add(10 * time.Second).Unix()
	if bs := db.Get(tn, q); len(bs) != 2 {
		t.Errorf("want the last samples reused for one more period, got %+v", bs)
	}
	// …but after two silent periods the tasks are forgotten.
	now = now.Add(time.Minute)
	if err := p.Publish(context.Background(), end.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	q.End = end.Add(time.Minute).Unix()
	if bs := db.Get(tn, q); len(bs) != 2 {
		t.Errorf("stale tasks must not be published, got %+v", bs)
	}
	if g := gauges(t, reg); len(g) != 0 {
		t.Errorf("gauges of services without data must go, %v left", g)
	}
}

// At a period of a minute or more, datapoints are standard resolution.
func TestPublishResolution(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	db := tsdb.NewMemory(func() time.Time { return now })
	src := &source{tasks: []ecs.MetricsTask{{TaskARN: arn1, Cluster: "c", Group: "service:web", LastStatus: "RUNNING", CPU: 1024, MemoryMiB: 1024}}}
	p := New(Options{ECS: src, Metrics: db, Now: func() time.Time { return now }})
	if p.Period() != time.Minute || p.SampleInterval() != 20*time.Second {
		t.Errorf("defaults: period %s, interval %s", p.Period(), p.SampleInterval())
	}
	p.TaskStats(acct, region, []ecs.TaskSample{{TaskARN: arn1, CPUUnits: 512, MemoryMiB: 512}})
	end := now.Truncate(time.Minute)
	if err := p.Publish(context.Background(), end); err != nil {
		t.Fatal(err)
	}
	ms := db.Metrics(tsdb.Tenant{Account: acct, Region: region})
	if len(ms) != 2 {
		t.Fatalf("metrics %+v", ms)
	}
}

// gauges gathers reg: metric name → value of its series for service web.
func gauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["service"] == "web" && labels["cluster"] == "c" && labels["account"] == acct {
				out[mf.GetName()] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}
