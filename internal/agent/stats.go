package agent

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/agent/task"
	"github.com/wharfhq/wharf/internal/agentclient"
	wrt "github.com/wharfhq/wharf/internal/runtime"
)

// TaskStats is one task's usage over the last sample interval: what the
// control plane turns into AWS/ECS CPUUtilization and MemoryUtilization.
type TaskStats struct {
	TaskARN string
	Time    time.Time
	// CPUUnits is the CPU the task's containers used on average since the
	// previous sample, in ECS units (1024 = one core).
	CPUUnits float64
	// MemoryMiB is the memory they use now, page cache excluded (as
	// `docker stats` and ECS count it).
	MemoryMiB float64
}

// StatsReporter is a control plane that takes task samples. SubmitStats
// answers how often the control plane wants them (0: keep the interval).
type StatsReporter interface {
	SubmitStats(ctx context.Context, stats []TaskStats) (time.Duration, error)
}

// DefaultStatsInterval is the sample interval until the control plane
// names one (in its first SubmitTaskStats answer).
const DefaultStatsInterval = 5 * time.Second

// statsReporter is cp's StatsReporter, or nil when it takes no samples.
func statsReporter(cp ControlPlane) StatsReporter {
	r, _ := cp.(StatsReporter)
	return r
}

// cpuMark is a container's cumulative CPU time at a sample.
type cpuMark struct {
	at    time.Time
	nanos uint64
}

// containerUsage is one container's sample: CPU units over the time since
// its previous sample (prev; nil for the first, which falls back to the
// engine's own two-reading CPUPercent) and memory MiB.
func containerUsage(prev *cpuMark, cur wrt.Stats) (cpuUnits, memMiB float64) {
	memMiB = float64(cur.MemoryUsageBytes) / (1 << 20)
	if prev != nil && cur.Time.After(prev.at) && cur.CPUTotalNanos >= prev.nanos {
		wall := cur.Time.Sub(prev.at)
		return float64(cur.CPUTotalNanos-prev.nanos) / float64(wall.Nanoseconds()) * 1024, memMiB
	}
	return cur.CPUPercent / 100 * 1024, memMiB
}

// sampler samples the running tasks' containers every interval and sends
// one batch per interval to the control plane. It is owned by the engine.
type sampler struct {
	rt    wrt.StatsReader
	cp    StatsReporter
	tasks func() map[string][]string // running task ARN → its running containers' runtime IDs
	log   *slog.Logger

	mu       sync.Mutex
	interval time.Duration
	marks    map[string]cpuMark // runtime ID → previous sample

	stop context.CancelFunc
	done chan struct{}
}

func newSampler(rt wrt.StatsReader, cp StatsReporter, tasks func() map[string][]string, log *slog.Logger) *sampler {
	return &sampler{rt: rt, cp: cp, tasks: tasks, log: log, interval: DefaultStatsInterval, marks: map[string]cpuMark{}}
}

// Start runs the sampling loop.
func (s *sampler) Start(ctx context.Context) {
	ctx, s.stop = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.loop(ctx)
}

// Stop ends the loop and waits for it.
func (s *sampler) Stop() {
	if s.stop != nil {
		s.stop()
		<-s.done
	}
}

func (s *sampler) loop(ctx context.Context) {
	defer close(s.done)
	for {
		s.mu.Lock()
		every := s.interval
		s.mu.Unlock()
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		stats := s.sample(ctx)
		if len(stats) == 0 || ctx.Err() != nil {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		next, err := s.cp.SubmitStats(sctx, stats)
		cancel()
		if err != nil {
			// The next interval's sample replaces this one: no retry.
			s.log.Debug("task stats not delivered", "tasks", len(stats), "err", err)
			continue
		}
		if next > 0 {
			s.mu.Lock()
			s.interval = next
			s.mu.Unlock()
		}
	}
}

// oneShotStats is a runtime that can sample without the engine's second
// reading (docker.Client.ContainerStatsNow).
type oneShotStats interface {
	ContainerStatsNow(ctx context.Context, id string) (wrt.Stats, error)
}

// statsParallel bounds the stats requests in flight to the engine (a
// first one takes about a second: the engine waits for a second reading).
const statsParallel = 4

// sample takes one sample of every running task: the sum of its running
// containers' usage. A task none of whose containers could be read is left
// out of this batch.
func (s *sampler) sample(ctx context.Context) []TaskStats {
	tasks := s.tasks()
	// A container sampled before needs no second reading from the engine
	// (its CPU comes from the difference with our previous sample): a
	// one-shot read answers at once instead of after about a second.
	now, _ := s.rt.(oneShotStats)
	s.mu.Lock()
	marked := make(map[string]bool, len(s.marks))
	for id := range s.marks {
		marked[id] = true
	}
	s.mu.Unlock()
	type result struct {
		task, id string
		st       wrt.Stats
		err      error
	}
	jobs := make(chan [2]string)
	results := make(chan result)
	var wg sync.WaitGroup
	for range statsParallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				var st wrt.Stats
				var err error
				if now != nil && marked[j[1]] {
					st, err = now.ContainerStatsNow(cctx, j[1])
				} else {
					st, err = s.rt.ContainerStats(cctx, j[1])
				}
				cancel()
				results <- result{j[0], j[1], st, err}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for arn, ids := range tasks {
			for _, id := range ids {
				select {
				case jobs <- [2]string{arn, id}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	byTask := map[string]*TaskStats{}
	seen := map[string]bool{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for r := range results {
		if r.err != nil {
			continue
		}
		seen[r.id] = true
		var prev *cpuMark
		if m, ok := s.marks[r.id]; ok {
			prev = &m
		}
		cpu, mem := containerUsage(prev, r.st)
		s.marks[r.id] = cpuMark{at: r.st.Time, nanos: r.st.CPUTotalNanos}
		ts := byTask[r.task]
		if ts == nil {
			ts = &TaskStats{TaskARN: r.task}
			byTask[r.task] = ts
		}
		ts.CPUUnits += cpu
		ts.MemoryMiB += mem
		if r.st.Time.After(ts.Time) {
			ts.Time = r.st.Time
		}
	}
	for id := range s.marks {
		if !seen[id] {
			delete(s.marks, id)
		}
	}
	out := make([]TaskStats, 0, len(byTask))
	for _, ts := range byTask {
		out = append(out, *ts)
	}
	return out
}

// SubmitStats sends task samples through the assignment channel
// (SubmitTaskStats), one call per cluster.
func (r *Remote) SubmitStats(ctx context.Context, stats []TaskStats) (time.Duration, error) {
	sp, ok := r.poller.(interface {
		SubmitStats(ctx context.Context, cluster, instanceARN string, stats []TaskStats) (time.Duration, error)
	})
	if !ok {
		return 0, nil
	}
	return sp.SubmitStats(ctx, r.cluster, r.instanceARN, stats)
}

// SubmitStats calls SubmitTaskStats.
func (p ChannelPoller) SubmitStats(ctx context.Context, cluster, instanceARN string, stats []TaskStats) (time.Duration, error) {
	in := &agentclient.TaskStatsInput{Cluster: cluster, ContainerInstance: instanceARN}
	for _, s := range stats {
		in.Tasks = append(in.Tasks, agentclient.TaskStats{TaskARN: s.TaskARN, Time: s.Time, CPUUnits: s.CPUUnits, MemoryMiB: s.MemoryMiB})
	}
	secs, err := p.Client.SubmitTaskStats(ctx, in)
	if err != nil {
		return 0, channelError(err)
	}
	return time.Duration(secs) * time.Second, nil
}

// runningContainers lists the engine's RUNNING tasks and the runtime IDs
// of their running containers, from the last state each task reported.
func (e *engine) runningContainers() map[string][]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string][]string{}
	for arn, c := range e.last {
		if c.Status != task.StatusRunning {
			continue
		}
		for _, cc := range c.Containers {
			if cc.RuntimeID != "" && cc.Status == task.StatusRunning {
				out[arn] = append(out[arn], cc.RuntimeID)
			}
		}
	}
	return out
}
