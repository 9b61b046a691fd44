package ecsmetrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wharfhq/wharf/internal/cloudwatch/tsdb"
	"github.com/wharfhq/wharf/internal/ecs"
)

// Source is what the publisher reads of the ECS service.
type Source interface {
	MetricsSnapshot(ctx context.Context, taskARNs []string) ([]ecs.MetricsTask, []ecs.MetricsInstance, error)
}

// Store is where datapoints go (the CloudWatch time-series store).
type Store interface {
	Add(tn tsdb.Tenant, data []tsdb.Datum) error
}

// Options configure a Publisher.
type Options struct {
	ECS     Source
	Metrics Store
	// Period is how often datapoints are published (default one minute, as
	// ECS). Below a minute they are stored at 1-second resolution.
	Period time.Duration
	// Registerer, when set, gets per-service Prometheus gauges of the last
	// published values.
	Registerer prometheus.Registerer
	Now        func() time.Time
	Logger     *slog.Logger
}

// Publisher keeps the samples agents submit and publishes AWS/ECS
// datapoints every period. It is the ecs.StatsSink of the ECS service.
type Publisher struct {
	opts Options

	mu      sync.Mutex
	tenants map[tsdb.Tenant]map[string]*taskAcc // task ARN → samples

	cpu, mem, count *prometheus.GaugeVec

	stop context.CancelFunc
	done chan struct{}
}

// taskAcc accumulates one task's samples of the current period.
type taskAcc struct {
	cpu, mem float64 // sums over n samples
	n        int
	// The previous period's mean, reused when no sample arrived this
	// period (an agent's interval is not locked to the period).
	lastCPU, lastMem float64
	seen             time.Time // when the last sample arrived
}

var _ ecs.StatsSink = (*Publisher)(nil)

// New returns a publisher; Start runs its loop.
func New(opts Options) *Publisher {
	if opts.Period <= 0 {
		opts.Period = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Publisher{opts: opts, tenants: map[tsdb.Tenant]map[string]*taskAcc{}}
	if opts.Registerer != nil {
		labels := []string{"account", "region", "cluster", "service"}
		p.cpu = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wharf_ecs_service_cpu_utilization_percent",
			Help: "The last published AWS/ECS CPUUtilization (Average) of an ECS service."}, labels)
		p.mem = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wharf_ecs_service_memory_utilization_percent",
			Help: "The last published AWS/ECS MemoryUtilization (Average) of an ECS service."}, labels)
		p.count = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wharf_ecs_service_measured_tasks",
			Help: "The running tasks of an ECS service measured in the last published period."}, labels)
		opts.Registerer.MustRegister(p.cpu, p.mem, p.count)
	}
	return p
}

// Period is the publishing period.
func (p *Publisher) Period() time.Duration { return p.opts.Period }

// SampleInterval is how often agents sample: half the period, between 5
// and 20 seconds (ECS's agent samples every 20 seconds for its 1-minute
// metrics), so every period gets at least one sample.
func (p *Publisher) SampleInterval() time.Duration {
	return min(max(p.opts.Period/2, 5*time.Second), 20*time.Second)
}

// TaskStats takes a batch of samples (ecs.StatsSink).
func (p *Publisher) TaskStats(account, region string, samples []ecs.TaskSample) {
	now := p.opts.Now()
	tn := tsdb.Tenant{Account: account, Region: region}
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.tenants[tn]
	if m == nil {
		m = map[string]*taskAcc{}
		p.tenants[tn] = m
	}
	for _, s := range samples {
		a := m[s.TaskARN]
		if a == nil {
			a = &taskAcc{}
			m[s.TaskARN] = a
		}
		a.cpu += s.CPUUnits
		a.mem += s.MemoryMiB
		a.n++
		a.seen = now
	}
}

// Start runs the loop: a publication at every multiple of the period.
func (p *Publisher) Start(ctx context.Context) {
	ctx, p.stop = context.WithCancel(ctx)
	p.done = make(chan struct{})
	go p.loop(ctx)
}

// Stop ends the loop and waits for it.
func (p *Publisher) Stop() {
	if p.stop == nil {
		return
	}
	p.stop()
	<-p.done
}

func (p *Publisher) loop(ctx context.Context) {
	defer close(p.done)
	for {
		now := p.opts.Now()
		next := now.Truncate(p.opts.Period).Add(p.opts.Period)
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := p.Publish(ctx, next); err != nil && ctx.Err() == nil {
			p.opts.Logger.Warn("ecs metrics: publish failed", "err", err)
		}
	}
}

// tenantTasks is one tenant's measured tasks of a period.
type tenantTasks struct {
	tn    tsdb.Tenant
	usage map[string][2]float64 // task ARN → cpu units, memory MiB
}

// take closes the period: each task's mean over the samples that arrived
// in it, or the previous mean when none did and the last one is younger
// than two periods; older tasks are forgotten.
func (p *Publisher) take(now time.Time) []tenantTasks {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []tenantTasks
	for tn, m := range p.tenants {
		tt := tenantTasks{tn: tn, usage: map[string][2]float64{}}
		for arn, a := range m {
			if a.n > 0 {
				a.lastCPU, a.lastMem = a.cpu/float64(a.n), a.mem/float64(a.n)
				a.cpu, a.mem, a.n = 0, 0, 0
			} else if now.Sub(a.seen) > 2*p.opts.Period {
				delete(m, arn)
				continue
			}
			tt.usage[arn] = [2]float64{a.lastCPU, a.lastMem}
		}
		if len(m) == 0 {
			delete(p.tenants, tn)
		}
		if len(tt.usage) > 0 {
			out = append(out, tt)
		}
	}
	return out
}

// Publish computes and stores the datapoints of the period that ends at
// end (stamped with its start). The loop calls it at every period
// boundary; tests call it directly.
func (p *Publisher) Publish(ctx context.Context, end time.Time) error {
	period := p.opts.Period
	ts := end.Add(-period).Truncate(time.Second).Unix()
	res := int64(60)
	if period < time.Minute {
		res = 1
	}
	if p.cpu != nil {
		p.cpu.Reset()
		p.mem.Reset()
		p.count.Reset()
	}
	var problems []error
	for _, tt := range p.take(end) {
		arns := make([]string, 0, len(tt.usage))
		for a := range tt.usage {
			arns = append(arns, a)
		}
		tasks, insts, err := p.opts.ECS.MetricsSnapshot(ecs.TenantContext(ctx, tt.tn.Account, tt.tn.Region), arns)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s/%s: %w", tt.tn.Account, tt.tn.Region, err))
			continue
		}
		data := Compute(joinTasks(tasks, tt.usage), joinInstances(insts))
		if len(data) == 0 {
			continue
		}
		out := make([]tsdb.Datum, 0, len(data))
		for _, d := range data {
			dims := []tsdb.Dim{{Name: DimCluster, Value: d.Cluster}}
			if d.Service != "" {
				dims = append(dims, tsdb.Dim{Name: DimService, Value: d.Service})
			}
			tsdb.SortDims(dims)
			out = append(out, tsdb.Datum{Metric: tsdb.Metric{Namespace: Namespace, Name: d.Name, Dims: dims},
				Unit: "Percent", Res: res, T: ts, Stats: tsdb.Stats{Count: d.Count, Sum: d.Sum, Min: d.Min, Max: d.Max}})
			if p.cpu != nil && d.Service != "" {
				l := prometheus.Labels{"account": tt.tn.Account, "region": tt.tn.Region, "cluster": d.Cluster, "service": d.Service}
				switch d.Name {
				case CPUUtilization:
					p.cpu.With(l).Set(d.Average())
					p.count.With(l).Set(d.Count)
				case MemoryUtilization:
					p.mem.With(l).Set(d.Average())
				}
			}
		}
		if err := p.opts.Metrics.Add(tt.tn, out); err != nil {
			problems = append(problems, fmt.Errorf("%s/%s: %w", tt.tn.Account, tt.tn.Region, err))
		}
	}
	return errors.Join(problems...)
}

// joinTasks keeps the RUNNING tasks and gives them their usage.
func joinTasks(tasks []ecs.MetricsTask, usage map[string][2]float64) []Task {
	out := make([]Task, 0, len(tasks))
	for _, t := range tasks {
		if t.LastStatus != "RUNNING" {
			continue
		}
		u := usage[t.TaskARN]
		out = append(out, Task{Cluster: t.Cluster, Service: ServiceName(t.Group), Instance: t.Instance,
			CPU: t.CPU, MemoryMiB: t.MemoryMiB, UsedCPU: u[0], UsedMemoryMiB: u[1]})
	}
	return out
}

// joinInstances keeps the ACTIVE and DRAINING instances (ECS's rule for
// the cluster metrics).
func joinInstances(insts []ecs.MetricsInstance) []Instance {
	var out []Instance
	for _, in := range insts {
		if in.Status != "ACTIVE" && in.Status != "DRAINING" {
			continue
		}
		out = append(out, Instance{Cluster: in.Cluster, ID: in.ID, CPU: in.CPU, MemoryMiB: in.MemoryMiB,
			ReservedCPU: in.CPU - in.RemainingCPU, ReservedMemory: in.MemoryMiB - in.RemainingMemoryMiB})
	}
	return out
}
