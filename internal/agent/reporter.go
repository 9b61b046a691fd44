package agent

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// reporter sends task reports to the control plane from one owned loop,
// retrying until each is accepted. Reports are states, not events: a newer
// report of a task merges into one still waiting, so a slow or unreachable
// control plane sees the latest state once it answers, and nothing the
// agent observed is dropped.
type reporter struct {
	cp      ControlPlane
	log     *slog.Logger
	metrics *Metrics // nil: none

	mu      sync.Mutex
	order   []string // task ARNs waiting, oldest first
	pending map[string]*TaskReport
	health  map[string]healthReport
	wake    chan struct{}

	stop chan struct{}
	done chan struct{}
}

type healthReport struct {
	cluster string
	health  map[string]runtime.Health
}

func newReporter(cp ControlPlane, log *slog.Logger) *reporter {
	return &reporter{cp: cp, log: log, pending: map[string]*TaskReport{}, health: map[string]healthReport{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// Task queues r, merged into any report of the same task still waiting.
func (r *reporter) Task(rep TaskReport) {
	r.mu.Lock()
	if old, ok := r.pending[rep.TaskARN]; ok {
		mergeReport(old, rep)
	} else {
		c := rep
		r.pending[rep.TaskARN] = &c
		r.order = append(r.order, rep.TaskARN)
	}
	r.mu.Unlock()
	r.poke()
}

// Health queues a task's container health.
func (r *reporter) Health(cluster, taskARN string, h map[string]runtime.Health) {
	r.mu.Lock()
	r.health[taskARN] = healthReport{cluster: cluster, health: h}
	r.mu.Unlock()
	r.poke()
}

func (r *reporter) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// mergeReport folds a newer report into an older one still waiting.
func mergeReport(old *TaskReport, rep TaskReport) {
	if rep.Status != "" {
		old.Status = rep.Status
	}
	if rep.Reason != "" {
		old.Reason = rep.Reason
	}
	if rep.PullStartedAt != nil {
		old.PullStartedAt = rep.PullStartedAt
	}
	if rep.PullStoppedAt != nil {
		old.PullStoppedAt = rep.PullStoppedAt
	}
	if rep.ExecutionStoppedAt != nil {
		old.ExecutionStoppedAt = rep.ExecutionStoppedAt
	}
	for _, c := range rep.Containers {
		i := -1
		for j := range old.Containers {
			if old.Containers[j].Name == c.Name {
				i = j
			}
		}
		if i < 0 {
			old.Containers = append(old.Containers, c)
			continue
		}
		o := &old.Containers[i]
		if c.Status != "" {
			o.Status = c.Status
		}
		if c.ExitCode != nil {
			o.ExitCode = c.ExitCode
		}
		if c.Reason != "" {
			o.Reason = c.Reason
		}
		if c.RuntimeID != "" {
			o.RuntimeID = c.RuntimeID
		}
		if c.ImageDigest != "" {
			o.ImageDigest = c.ImageDigest
		}
		if len(c.Bindings) > 0 {
			o.Bindings = c.Bindings
		}
	}
}

func (r *reporter) start(ctx context.Context) {
	go r.loop(ctx)
}

// close stops the loop; reports still waiting are not sent (the next
// agent process reports the tasks' states again when it adopts them).
func (r *reporter) close() {
	close(r.stop)
	<-r.done
}

func (r *reporter) loop(ctx context.Context) {
	defer close(r.done)
	backoff := 100 * time.Millisecond
	for {
		if r.sendAll(ctx) {
			backoff = 100 * time.Millisecond
			select {
			case <-r.wake:
			case <-r.stop:
				return
			case <-ctx.Done():
				return
			}
			continue
		}
		select {
		case <-time.After(backoff):
		case <-r.stop:
			return
		case <-ctx.Done():
			return
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// sendAll sends every waiting report, oldest first; it reports whether all
// were accepted.
func (r *reporter) sendAll(ctx context.Context) bool {
	for {
		r.mu.Lock()
		var arn string
		var rep TaskReport
		var hr healthReport
		isHealth := false
		switch {
		case len(r.order) > 0:
			arn = r.order[0]
			rep = *r.pending[arn]
		case len(r.health) > 0:
			for k, v := range r.health {
				arn, hr, isHealth = k, v, true
				break
			}
		default:
			r.mu.Unlock()
			return true
		}
		r.mu.Unlock()
		var err error
		if isHealth {
			err = r.cp.SubmitHealth(ctx, hr.cluster, arn, hr.health)
		} else {
			err = r.cp.SubmitTask(ctx, rep)
		}
		if ctx.Err() == nil {
			kind := "task"
			if isHealth {
				kind = "health"
			}
			r.metrics.reported(kind, err)
		}
		if err != nil && !permanent(err) {
			r.log.Warn("report to the control plane failed; retrying", "task", arn, "err", err)
			return false
		}
		if err != nil {
			r.log.Warn("control plane refused a report; dropping it", "task", arn, "err", err)
		}
		r.mu.Lock()
		if isHealth {
			if cur, ok := r.health[arn]; ok && sameHealth(cur.health, hr.health) {
				delete(r.health, arn)
			}
		} else if cur := r.pending[arn]; cur != nil {
			// Drop it only if nothing newer merged in while it was sent.
			if sameReport(cur, &rep) {
				delete(r.pending, arn)
				r.order = r.order[1:]
			}
		}
		r.mu.Unlock()
	}
}

func sameHealth(a, b map[string]runtime.Health) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func sameReport(a, b *TaskReport) bool {
	if a.Status != b.Status || a.Reason != b.Reason || len(a.Containers) != len(b.Containers) {
		return false
	}
	for i := range a.Containers {
		x, y := a.Containers[i], b.Containers[i]
		if x.Status != y.Status || x.Reason != y.Reason || x.RuntimeID != y.RuntimeID || (x.ExitCode == nil) != (y.ExitCode == nil) ||
			len(x.Bindings) != len(y.Bindings) {
			return false
		}
	}
	return ptrTimeEq(a.PullStartedAt, b.PullStartedAt) && ptrTimeEq(a.PullStoppedAt, b.PullStoppedAt) &&
		ptrTimeEq(a.ExecutionStoppedAt, b.ExecutionStoppedAt)
}

func ptrTimeEq(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
