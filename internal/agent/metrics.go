package agent

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wharfhq/wharf/internal/agent/task"
	wrt "github.com/wharfhq/wharf/internal/runtime"
)

// Metrics are an agent's Prometheus instruments (docs/prometheus.md).
// `wharf agent` registers them on its own registry, served at
// --metrics-address; the server's managed (FARGATE) capacity registers
// them on the server's registry with the label capacity="fargate". A nil
// *Metrics records nothing, so the agent's code calls it unconditionally.
type Metrics struct {
	tasks       *prometheus.GaugeVec
	polls       *prometheus.CounterVec
	reports     *prometheus.CounterVec
	pulls       *prometheus.CounterVec
	pullSeconds prometheus.Histogram
	started     prometheus.Counter
	stopped     prometheus.Counter
	runtimeErrs *prometheus.CounterVec
	reachable   prometheus.Gauge
	lastPoll    prometheus.Gauge
}

// Poll and report outcomes (the "result" label).
const (
	resultChanged   = "changed"   // a poll that brought a new desired state
	resultUnchanged = "unchanged" // a poll that timed out with none
	resultError     = "error"     // the call failed; it is retried
	resultSent      = "sent"      // a report accepted
	resultRefused   = "refused"   // a report the control plane refused (dropped)
)

// NewMetrics makes the agent's instruments with the constant labels
// labels (nil for none) and registers them with reg.
func NewMetrics(reg prometheus.Registerer, labels prometheus.Labels) *Metrics {
	m := &Metrics{
		tasks: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wharf_agent_tasks", ConstLabels: labels,
			Help: "Tasks the agent runs, by the state it last reported (PENDING, RUNNING, STOPPED until cleaned up)."}, []string{"state"}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wharf_agent_assignment_polls_total", ConstLabels: labels,
			Help: "Assignment polls by result: changed (a new desired state), unchanged, error."}, []string{"result"}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wharf_agent_reports_total", ConstLabels: labels,
			Help: "Reports to the control plane by kind (task, health) and result: sent, error (retried), refused (dropped)."}, []string{"kind", "result"}),
		pulls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wharf_agent_image_pulls_total", ConstLabels: labels,
			Help: "Image pulls by result: success, failure."}, []string{"result"}),
		pullSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "wharf_agent_image_pull_duration_seconds", ConstLabels: labels,
			Help: "Duration of image pulls (failed ones included).", Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}}),
		started: prometheus.NewCounter(prometheus.CounterOpts{Name: "wharf_agent_containers_started_total", ConstLabels: labels,
			Help: "Containers the agent started."}),
		stopped: prometheus.NewCounter(prometheus.CounterOpts{Name: "wharf_agent_containers_stopped_total", ConstLabels: labels,
			Help: "Containers the agent saw stop after they ran (exited or stopped)."}),
		runtimeErrs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wharf_agent_docker_errors_total", ConstLabels: labels,
			Help: "Docker Engine API calls that failed, by operation (a missing object is an answer, not an error)."}, []string{"operation"}),
		reachable: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wharf_agent_control_plane_reachable", ConstLabels: labels,
			Help: "1 when the agent's last call to the control plane was answered, else 0."}),
		lastPoll: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wharf_agent_last_poll_timestamp_seconds", ConstLabels: labels,
			Help: "When the control plane last answered a poll (Unix time); 0 before the first."}),
	}
	for _, s := range []string{task.StatusPending, task.StatusRunning, task.StatusStopped} {
		m.tasks.WithLabelValues(s)
	}
	for _, r := range []string{resultChanged, resultUnchanged, resultError} {
		m.polls.WithLabelValues(r)
	}
	for _, k := range []string{"task", "health"} {
		for _, r := range []string{resultSent, resultError, resultRefused} {
			m.reports.WithLabelValues(k, r)
		}
	}
	m.pulls.WithLabelValues("success")
	m.pulls.WithLabelValues("failure")
	reg.MustRegister(m.tasks, m.polls, m.reports, m.pulls, m.pullSeconds, m.started, m.stopped, m.runtimeErrs, m.reachable, m.lastPoll)
	return m
}

// polled records a poll's outcome at now.
func (m *Metrics) polled(changed bool, err error, now time.Time) {
	if m == nil {
		return
	}
	switch {
	case err != nil:
		m.polls.WithLabelValues(resultError).Inc()
		m.reachable.Set(0)
		return
	case changed:
		m.polls.WithLabelValues(resultChanged).Inc()
	default:
		m.polls.WithLabelValues(resultUnchanged).Inc()
	}
	m.reachable.Set(1)
	m.lastPoll.Set(float64(now.UnixNano()) / 1e9)
}

// reported records the outcome of one report (kind "task" or "health").
func (m *Metrics) reported(kind string, err error) {
	if m == nil {
		return
	}
	switch {
	case err == nil:
		m.reports.WithLabelValues(kind, resultSent).Inc()
		m.reachable.Set(1)
	case permanent(err):
		m.reports.WithLabelValues(kind, resultRefused).Inc()
		m.reachable.Set(1)
	default:
		m.reports.WithLabelValues(kind, resultError).Inc()
		m.reachable.Set(0)
	}
}

// taskMoved records a task's move from one reported state to another (""
// for a task the agent did not know, or no longer keeps).
func (m *Metrics) taskMoved(from, to string) {
	if m == nil || from == to {
		return
	}
	if from != "" {
		m.tasks.WithLabelValues(from).Dec()
	}
	if to != "" {
		m.tasks.WithLabelValues(to).Inc()
	}
}

// containersMoved counts the containers of a task that went from RUNNING
// (in prev, the task's previous report) to STOPPED in c.
func (m *Metrics) containersMoved(prev *task.Change, c *task.Change) {
	if m == nil || prev == nil {
		return
	}
	for _, cc := range c.Containers {
		if cc.Status != task.StatusStopped {
			continue
		}
		for _, pc := range prev.Containers {
			if pc.Name == cc.Name && pc.Status == task.StatusRunning {
				m.stopped.Inc()
			}
		}
	}
}

// instrument wraps rt so that pulls, starts and failed calls are counted;
// nil m returns rt itself.
func (m *Metrics) instrument(rt wrt.Runtime) wrt.Runtime {
	if m == nil || rt == nil {
		return rt
	}
	return &meteredRuntime{Runtime: rt, m: m}
}

// meteredRuntime is a runtime that counts what the task engine asks of
// it. Calls it does not list pass through uncounted.
type meteredRuntime struct {
	wrt.Runtime
	m *Metrics
}

// failed counts err as a failed call of op unless it is an answer (a
// missing object, a conflict) or the caller gave up.
func (r *meteredRuntime) failed(op string, err error) {
	if err == nil || errors.Is(err, wrt.ErrNotFound) || errors.Is(err, wrt.ErrConflict) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	r.m.runtimeErrs.WithLabelValues(op).Inc()
}

func (r *meteredRuntime) PullImage(ctx context.Context, ref string, auth *wrt.Auth, progress func(wrt.PullProgress)) error {
	start := time.Now()
	err := r.Runtime.PullImage(ctx, ref, auth, progress)
	r.m.pullSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		r.m.pulls.WithLabelValues("failure").Inc()
	} else {
		r.m.pulls.WithLabelValues("success").Inc()
	}
	r.failed("pull", err)
	return err
}

func (r *meteredRuntime) CreateContainer(ctx context.Context, spec wrt.ContainerSpec) (string, error) {
	id, err := r.Runtime.CreateContainer(ctx, spec)
	r.failed("create_container", err)
	return id, err
}

func (r *meteredRuntime) StartContainer(ctx context.Context, id string) error {
	err := r.Runtime.StartContainer(ctx, id)
	if err == nil {
		r.m.started.Inc()
	}
	r.failed("start_container", err)
	return err
}

func (r *meteredRuntime) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	err := r.Runtime.StopContainer(ctx, id, timeout)
	r.failed("stop_container", err)
	return err
}

func (r *meteredRuntime) RemoveContainer(ctx context.Context, id string) error {
	err := r.Runtime.RemoveContainer(ctx, id)
	r.failed("remove_container", err)
	return err
}

func (r *meteredRuntime) InspectContainer(ctx context.Context, id string) (wrt.ContainerStatus, error) {
	st, err := r.Runtime.InspectContainer(ctx, id)
	r.failed("inspect_container", err)
	return st, err
}

func (r *meteredRuntime) ListContainers(ctx context.Context, labels map[string]string) ([]wrt.ContainerSummary, error) {
	cs, err := r.Runtime.ListContainers(ctx, labels)
	r.failed("list_containers", err)
	return cs, err
}

func (r *meteredRuntime) CreateNetwork(ctx context.Context, spec wrt.NetworkSpec) (wrt.Network, error) {
	n, err := r.Runtime.CreateNetwork(ctx, spec)
	r.failed("create_network", err)
	return n, err
}

func (r *meteredRuntime) Events(ctx context.Context, filter wrt.EventFilter) (wrt.EventStream, error) {
	s, err := r.Runtime.Events(ctx, filter)
	r.failed("events", err)
	return s, err
}

// ImageDigest passes through to the runtime's, when it has one (the task
// engine reports image digests with it).
func (r *meteredRuntime) ImageDigest(ctx context.Context, ref string) (string, error) {
	ii, ok := r.Runtime.(interface {
		ImageDigest(ctx context.Context, ref string) (string, error)
	})
	if !ok {
		return "", errors.ErrUnsupported
	}
	d, err := ii.ImageDigest(ctx, ref)
	r.failed("image_digest", err)
	return d, err
}
