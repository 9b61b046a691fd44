package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/agent/endpoint"
	wrt "github.com/wharfhq/wharf/internal/runtime"
	"github.com/wharfhq/wharf/internal/runtime/docker"
	"github.com/wharfhq/wharf/internal/testimg"
)

// The agent's runtime samples without the engine's second reading.
var _ oneShotStats = (*docker.Client)(nil)

func TestContainerUsage(t *testing.T) {
	t0 := time.Unix(1000, 0)
	// Half a core over 10 s since the previous sample: 512 units.
	cpu, mem := containerUsage(&cpuMark{at: t0, nanos: 1e9}, wrt.Stats{Time: t0.Add(10 * time.Second), CPUTotalNanos: 6e9, MemoryUsageBytes: 64 << 20})
	if math.Abs(cpu-512) > 1e-6 || mem != 64 {
		t.Errorf("usage = %v units, %v MiB; want 512, 64", cpu, mem)
	}
	// First sample: the engine's own two readings (CPUPercent, 100 = a core).
	if cpu, _ := containerUsage(nil, wrt.Stats{Time: t0, CPUTotalNanos: 5, CPUPercent: 150}); math.Abs(cpu-1536) > 1e-6 {
		t.Errorf("first sample = %v, want 1536", cpu)
	}
	// A restarted container's counter went back: not a negative usage.
	if cpu, _ := containerUsage(&cpuMark{at: t0, nanos: 9e9}, wrt.Stats{Time: t0.Add(time.Second), CPUTotalNanos: 1e9, CPUPercent: 10}); math.Abs(cpu-102.4) > 1e-6 {
		t.Errorf("after a counter reset = %v, want the engine's 102.4", cpu)
	}
}

// fakeStats is a runtime whose containers each use a fixed share of a core.
type fakeStats struct {
	mu    sync.Mutex
	share map[string]float64 // runtime ID → cores
	calls map[string]int
	start time.Time
}

func (f *fakeStats) ContainerStats(_ context.Context, id string) (wrt.Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	share, ok := f.share[id]
	if !ok {
		return wrt.Stats{}, fmt.Errorf("stats %s: %w", id, wrt.ErrNotFound)
	}
	f.calls[id]++
	// Each call is 2 s of fake time later.
	el := time.Duration(f.calls[id]) * 2 * time.Second
	return wrt.Stats{Time: f.start.Add(el), CPUTotalNanos: uint64(share * float64(el.Nanoseconds())),
		CPUPercent: share * 100, MemoryUsageBytes: 10 << 20}, nil
}

type recorder struct {
	mu      sync.Mutex
	batches [][]TaskStats
	next    time.Duration
}

func (r *recorder) SubmitStats(_ context.Context, s []TaskStats) (time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, s)
	return r.next, nil
}

func (r *recorder) get() [][]TaskStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]TaskStats(nil), r.batches...)
}

// The sampler sums a task's containers, sends one batch per interval for
// every running task, follows the interval the control plane names and
// forgets containers that are gone.
func TestSampler(t *testing.T) {
	rt := &fakeStats{share: map[string]float64{"a1": 0.25, "a2": 0.5, "b1": 1}, calls: map[string]int{}, start: time.Unix(5000, 0)}
	var mu sync.Mutex
	tasks := map[string][]string{"task-a": {"a1", "a2"}, "task-b": {"b1"}}
	rec := &recorder{next: 20 * time.Millisecond}
	s := newSampler(rt, rec, func() map[string][]string {
		mu.Lock()
		defer mu.Unlock()
		out := map[string][]string{}
		for k, v := range tasks {
			out[k] = append([]string(nil), v...)
		}
		return out
	}, slog.New(slog.DiscardHandler))
	s.interval = 10 * time.Millisecond
	s.Start(context.Background())
	defer s.Stop()

	deadline := time.Now().Add(10 * time.Second)
	for len(rec.get()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("batches: %d", len(rec.get()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	b := rec.get()[2]
	got := map[string]TaskStats{}
	for _, ts := range b {
		got[ts.TaskARN] = ts
	}
	if len(got) != 2 || math.Abs(got["task-a"].CPUUnits-768) > 1e-6 || math.Abs(got["task-b"].CPUUnits-1024) > 1e-6 ||
		got["task-a"].MemoryMiB != 20 || got["task-b"].MemoryMiB != 10 {
		t.Errorf("third batch = %+v; want task-a 768 units 20 MiB, task-b 1024 units 10 MiB", b)
	}
	s.mu.Lock()
	interval := s.interval
	s.mu.Unlock()
	if interval != 20*time.Millisecond {
		t.Errorf("interval = %s, want the control plane's 20ms", interval)
	}

	mu.Lock()
	delete(tasks, "task-b")
	mu.Unlock()
	n := len(rec.get())
	for {
		bs := rec.get()
		if len(bs) > n+1 {
			if last := bs[len(bs)-1]; len(last) != 1 || last[0].TaskARN != "task-a" {
				t.Errorf("after task-b stopped: %+v", last)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no batch after task-b stopped")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.mu.Lock()
	_, kept := s.marks["b1"]
	s.mu.Unlock()
	if kept {
		t.Error("the gone container's mark is kept")
	}
}

// TestStatsMatchTaskMetadata runs a container that burns CPU under a
// half-core quota on the local Docker Engine and checks that what the
// agent reports is what the task metadata endpoint's /task/stats serves
// (Docker's stats document, read the way ECS and `docker stats` read it):
// the same source, the same numbers.
func TestStatsMatchTaskMetadata(t *testing.T) {
	rt := testimg.Engine(t)
	ref := fmt.Sprintf("wharf-test-busybox:stats-%d", time.Now().UnixNano()%1e6)
	testimg.LoadDocker(t, testimg.Busybox(t), ref)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	id, err := rt.CreateContainer(ctx, wrt.ContainerSpec{Image: ref, Command: []string{"sh", "-c", "while :; do :; done"},
		NanoCPUs: 5e8, Labels: map[string]string{"wharf-test": "agent-stats"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = rt.RemoveContainer(ctx, id)
	})
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}

	ep := endpoint.New(endpoint.Config{Addr: "127.0.0.1:0", Stats: rt.RawStats})
	if err := ep.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ep.Stop(context.Background()) })
	const taskARN = "arn:aws:ecs:us-east-1:000000000000:task/c/0123456789abcdef"
	if err := ep.Register(endpoint.Task{TaskARN: taskARN, Cluster: "c", Containers: []endpoint.Container{{EndpointID: "burn-id", Name: "burn", DockerID: id}}}); err != nil {
		t.Fatal(err)
	}

	s := newSampler(rt, nil, func() map[string][]string { return map[string][]string{taskARN: {id}} }, slog.New(slog.DiscardHandler))
	s.sample(ctx)               // the first mark (the engine's two readings)
	time.Sleep(time.Second)     // the sample interval, shortened
	agentStats := s.sample(ctx) // one-shot: the difference with the mark
	if len(agentStats) != 1 {
		t.Fatalf("agent sample: %+v", agentStats)
	}
	cpuEP, memEP := endpointUsage(t, ep.MetadataEnv("burn-id")[endpoint.EnvMetadataURIV4]+"/task/stats", id)
	a := agentStats[0]
	t.Logf("agent: %.0f CPU units, %.2f MiB; task metadata /stats: %.0f CPU units, %.2f MiB", a.CPUUnits, a.MemoryMiB, cpuEP, memEP)
	// A busy loop under a 0.5-core quota uses 512 units, by both counts.
	for what, v := range map[string]float64{"agent": a.CPUUnits, "endpoint": cpuEP} {
		if v < 0.7*512 || v > 1.15*512 {
			t.Errorf("%s CPU = %.0f units, want about 512", what, v)
		}
	}
	if math.Abs(a.CPUUnits-cpuEP) > 0.2*512 {
		t.Errorf("agent %.0f vs endpoint %.0f CPU units", a.CPUUnits, cpuEP)
	}
	if math.Abs(a.MemoryMiB-memEP) > 0.5 {
		t.Errorf("agent %.2f MiB vs endpoint %.2f MiB", a.MemoryMiB, memEP)
	}
}

// endpointUsage reads the container's document from /task/stats and
// computes its CPU units (CPU time delta over system time delta, times the
// online CPUs) and memory in use (usage minus inactive file cache).
func endpointUsage(t *testing.T, url, id string) (cpuUnits, memMiB float64) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var docs map[string]*struct {
		CPU struct {
			Usage struct {
				Total float64 `json:"total_usage"`
			} `json:"cpu_usage"`
			System float64 `json:"system_cpu_usage"`
			Online float64 `json:"online_cpus"`
		} `json:"cpu_stats"`
		PreCPU struct {
			Usage struct {
				Total float64 `json:"total_usage"`
			} `json:"cpu_usage"`
			System float64 `json:"system_cpu_usage"`
		} `json:"precpu_stats"`
		Memory struct {
			Usage float64            `json:"usage"`
			Stats map[string]float64 `json:"stats"`
		} `json:"memory_stats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&docs); err != nil || resp.StatusCode != 200 {
		t.Fatalf("task stats: %d %v", resp.StatusCode, err)
	}
	d := docs[id]
	if d == nil {
		t.Fatalf("no stats for %s in %v", id, docs)
	}
	sys := d.CPU.System - d.PreCPU.System
	if sys <= 0 {
		t.Fatalf("the document has no system CPU delta: %+v", d)
	}
	cpuUnits = (d.CPU.Usage.Total - d.PreCPU.Usage.Total) / sys * d.CPU.Online * 1024
	cache := d.Memory.Stats["inactive_file"]
	if cache == 0 {
		cache = d.Memory.Stats["total_inactive_file"]
	}
	return cpuUnits, (d.Memory.Usage - cache) / (1 << 20)
}
