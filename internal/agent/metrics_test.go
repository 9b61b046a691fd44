package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wharfhq/wharf/internal/agent/awslogs"
	"github.com/wharfhq/wharf/internal/agent/task"
	"github.com/wharfhq/wharf/internal/agentproto"
	wrt "github.com/wharfhq/wharf/internal/runtime"
)

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMetricsReportsAndReachability(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry(), nil)
	cp := &flakyCP{down: true}
	r := newReporter(cp, slog.New(slog.DiscardHandler))
	r.metrics = m
	r.start(context.Background())
	defer r.close()
	r.Task(TaskReport{TaskARN: "t1", Status: "RUNNING"})
	waitFor(t, "a failed report", func() bool { return testutil.ToFloat64(m.reports.WithLabelValues("task", resultError)) >= 1 })
	if v := testutil.ToFloat64(m.reachable); v != 0 {
		t.Fatalf("reachable = %v while the control plane is down", v)
	}
	cp.mu.Lock()
	cp.down = false
	cp.mu.Unlock()
	waitFor(t, "the report sent", func() bool { return testutil.ToFloat64(m.reports.WithLabelValues("task", resultSent)) == 1 })
	if v := testutil.ToFloat64(m.reachable); v != 1 {
		t.Fatalf("reachable = %v once the control plane answered", v)
	}

	m.polled(true, nil, time.Unix(1700000000, 0))
	m.polled(false, nil, time.Unix(1700000010, 0))
	m.polled(false, errors.New("connection refused"), time.Unix(1700000020, 0))
	for res, want := range map[string]float64{resultChanged: 1, resultUnchanged: 1, resultError: 1} {
		if v := testutil.ToFloat64(m.polls.WithLabelValues(res)); v != want {
			t.Errorf("polls{result=%s} = %v, want %v", res, v, want)
		}
	}
	if v := testutil.ToFloat64(m.lastPoll); v != 1700000010 {
		t.Errorf("last poll = %v, want the last answered poll's time", v)
	}
	if v := testutil.ToFloat64(m.reachable); v != 0 {
		t.Errorf("reachable = %v after a failed poll", v)
	}
}

// fakeRuntime answers the calls the metered runtime counts; the others
// are not called.
type fakeRuntime struct {
	wrt.Runtime
	pullErr, inspectErr error
}

func (f *fakeRuntime) PullImage(ctx context.Context, ref string, _ *wrt.Auth, _ func(wrt.PullProgress)) error {
	if ref == "bad" {
		return f.pullErr
	}
	return nil
}
func (f *fakeRuntime) StartContainer(context.Context, string) error { return nil }
func (f *fakeRuntime) InspectContainer(context.Context, string) (wrt.ContainerStatus, error) {
	return wrt.ContainerStatus{}, f.inspectErr
}

func TestMetricsRuntime(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry(), nil)
	f := &fakeRuntime{pullErr: &wrt.PullError{Ref: "bad", Message: "manifest unknown"}}
	rt := m.instrument(f)
	ctx := context.Background()
	_ = rt.PullImage(ctx, "good", nil, nil)
	_ = rt.PullImage(ctx, "bad", nil, nil)
	_ = rt.StartContainer(ctx, "c1")
	f.inspectErr = fmt.Errorf("inspect: %w", wrt.ErrNotFound) // an answer, not a failure
	_, _ = rt.InspectContainer(ctx, "c1")
	f.inspectErr = fmt.Errorf("inspect: %w", wrt.ErrUnavailable)
	_, _ = rt.InspectContainer(ctx, "c1")

	if v := testutil.ToFloat64(m.pulls.WithLabelValues("success")); v != 1 {
		t.Errorf("successful pulls = %v", v)
	}
	if v := testutil.ToFloat64(m.pulls.WithLabelValues("failure")); v != 1 {
		t.Errorf("failed pulls = %v", v)
	}
	if n := testutil.CollectAndCount(m.pullSeconds); n != 1 {
		t.Errorf("pull histogram series = %d", n)
	}
	if v := testutil.ToFloat64(m.started); v != 1 {
		t.Errorf("started = %v", v)
	}
	if v := testutil.ToFloat64(m.runtimeErrs.WithLabelValues("pull")); v != 1 {
		t.Errorf("docker errors{pull} = %v", v)
	}
	if v := testutil.ToFloat64(m.runtimeErrs.WithLabelValues("inspect_container")); v != 1 {
		t.Errorf("docker errors{inspect_container} = %v, want 1 (not found is not counted)", v)
	}
}

// nopReports swallows the engine's reports.
type nopReports struct{}

func (nopReports) Task(TaskReport)                                         {}
func (nopReports) Health(cluster, taskARN string, h map[string]wrt.Health) {}

func TestMetricsTasksByState(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg, prometheus.Labels{"capacity": "fargate"})
	logs, err := awslogs.New(awslogs.Config{StateDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Stop()
	e := &engine{cfg: Config{Metrics: m}, reports: nopReports{}, tasks: map[string]*agentproto.Task{}, reaping: map[string]bool{},
		last: map[string]task.Change{}, health: map[string]map[string]wrt.Health{}, logs: logs}
	state := func(s string) float64 { return testutil.ToFloat64(m.tasks.WithLabelValues(s)) }
	ctr := func(status, id string) []task.ContainerChange {
		return []task.ContainerChange{{Name: "app", Status: status, RuntimeID: id}}
	}
	arn := "arn:aws:ecs:us-east-1:123456789012:task/c/1"
	e.report(task.Change{TaskARN: arn, Status: task.StatusPending, Containers: ctr(task.StatusPending, "")})
	e.report(task.Change{TaskARN: "arn:aws:ecs:us-east-1:123456789012:task/c/2", Status: task.StatusPending})
	if state(task.StatusPending) != 2 || state(task.StatusRunning) != 0 {
		t.Fatalf("pending %v running %v, want 2 and 0", state(task.StatusPending), state(task.StatusRunning))
	}
	e.report(task.Change{TaskARN: arn, Status: task.StatusRunning, Containers: ctr(task.StatusRunning, "x")})
	e.report(task.Change{TaskARN: arn, Status: task.StatusRunning, Containers: ctr(task.StatusRunning, "x")}) // the same state again
	if state(task.StatusPending) != 1 || state(task.StatusRunning) != 1 {
		t.Fatalf("pending %v running %v, want 1 and 1", state(task.StatusPending), state(task.StatusRunning))
	}
	e.report(task.Change{TaskARN: arn, Status: task.StatusStopped, Containers: ctr(task.StatusStopped, "x")})
	if state(task.StatusRunning) != 0 || state(task.StatusStopped) != 1 || testutil.ToFloat64(m.stopped) != 1 {
		t.Fatalf("running %v stopped %v containers stopped %v, want 0, 1, 1", state(task.StatusRunning), state(task.StatusStopped),
			testutil.ToFloat64(m.stopped))
	}
	// Cleaned up: the agent no longer keeps it.
	e.report(task.Change{TaskARN: arn, Status: task.StatusStopped, Containers: ctr(task.StatusStopped, "")})
	if state(task.StatusStopped) != 0 || testutil.ToFloat64(m.stopped) != 1 {
		t.Fatalf("stopped %v containers stopped %v after cleanup, want 0 and 1", state(task.StatusStopped), testutil.ToFloat64(m.stopped))
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
}
