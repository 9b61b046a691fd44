package sched

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// world is a test harness: a service, its tasks and instances, a fake
// clock and a simulated agent. pass runs Decide and applies its plan as
// internal/ecs would; settle plays the agents.
type world struct {
	t      *testing.T
	now    time.Time
	svc    Service
	tasks  []Task
	insts  []Instance
	seq    int
	passes int
	events []string
	// fail says whether a new task of a deployment fails to start.
	fail func(dep string) bool
	// health is the health a RUNNING task with a health check reports.
	health func(t *Task) string
	// lag, when set, says whether the agent acts on a task in this
	// settle (false: later), to vary the interleavings.
	lag func() bool
	// observations after each pass
	minHealthy, maxTotal int
	checkHealthy         bool
}

func newWorld(t *testing.T, strategy string, desired, minPct, maxPct int) *world {
	w := &world{t: t, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), minHealthy: -1}
	w.svc = Service{Name: "web", Strategy: strategy, Status: StatusActive, DesiredCount: desired,
		MinHealthyPercent: minPct, MaxPercent: maxPct,
		Deployments: []Deployment{{ID: "ecs-svc/1", Status: Primary, TaskDefinition: "td:1", RolloutState: InProgress, CreatedAt: w.now}}}
	return w
}

func (w *world) addInstances(n int, status string, eligible bool) {
	for range n {
		w.insts = append(w.insts, Instance{ID: fmt.Sprintf("i%02d", len(w.insts)), Status: status, Eligible: eligible})
	}
}

// deploy starts a new PRIMARY deployment as UpdateService does.
func (w *world) deploy(td string) string {
	w.seq++
	id := fmt.Sprintf("ecs-svc/%d", 100+w.seq)
	deps := []Deployment{{ID: id, Status: Primary, TaskDefinition: td, RolloutState: InProgress, CreatedAt: w.now}}
	for _, d := range w.svc.Deployments {
		d.Status = Active
		deps = append(deps, d)
	}
	w.svc.Deployments = deps
	w.svc.StartFailures, w.svc.RetryAt = 0, time.Time{}
	return id
}

func (w *world) pass() Plan {
	w.t.Helper()
	p := Decide(Snapshot{Service: w.svc, Tasks: slices.Clone(w.tasks), Instances: slices.Clone(w.insts)}, w.now)
	w.passes++
	w.svc = p.Service
	for _, s := range p.Stop {
		for i := range w.tasks {
			if w.tasks[i].ID == s.TaskID {
				if w.tasks[i].DesiredStatus == Stopped {
					w.t.Fatalf("pass %d stops %s twice", w.passes, s.TaskID)
				}
				w.tasks[i].DesiredStatus, w.tasks[i].StopCode = Stopped, StopCodeScheduler
			}
		}
	}
	rr := 0
	var active []string
	for _, in := range w.insts {
		if in.Status == InstanceActive {
			active = append(active, in.ID)
		}
	}
	for _, s := range p.Start {
		for range s.Count {
			w.seq++
			t := Task{ID: fmt.Sprintf("t%03d", w.seq), Deployment: s.Deployment, LastStatus: "PENDING", DesiredStatus: Running,
				Created: w.now, Health: "UNKNOWN", HealthCheck: w.health != nil, Instance: s.Instance}
			if t.Instance == "" && len(active) > 0 {
				t.Instance = active[rr%len(active)]
				rr++
			}
			w.tasks = append(w.tasks, t)
		}
	}
	w.events = append(w.events, p.Events...)
	w.check()
	return p
}

// settle plays the agents: stops what is desired STOPPED, starts (or
// fails) what is pending, reports health.
func (w *world) settle() {
	for i := range w.tasks {
		t := &w.tasks[i]
		if w.lag != nil && t.LastStatus != Stopped && w.lag() {
			continue
		}
		switch {
		case t.LastStatus == Stopped:
		case t.DesiredStatus == Stopped:
			t.LastStatus, t.Stopped = Stopped, w.now
		case t.LastStatus == "PENDING" && w.fail != nil && w.fail(t.Deployment):
			t.LastStatus, t.DesiredStatus, t.Stopped, t.StopCode = Stopped, Stopped, w.now, "TaskFailedToStart"
		case t.LastStatus == "PENDING":
			t.LastStatus, t.Started = Running, w.now
		}
		if t.LastStatus == Running && w.health != nil {
			t.Health = w.health(t)
		}
	}
	w.check()
}

// check asserts the min/max invariants when asked.
func (w *world) check() {
	w.t.Helper()
	total, healthy := 0, 0
	for _, t := range w.tasks {
		if t.LastStatus != Stopped {
			total++
		}
		if t.LastStatus == Running && t.DesiredStatus == Running && (!t.HealthCheck || t.Health == HealthHealthy) {
			healthy++
		}
	}
	if w.maxTotal > 0 && total > w.maxTotal {
		w.t.Fatalf("pass %d: %d tasks running or pending, more than %d", w.passes, total, w.maxTotal)
	}
	if w.checkHealthy && healthy < w.minHealthy {
		w.t.Fatalf("pass %d: %d healthy tasks, fewer than %d", w.passes, healthy, w.minHealthy)
	}
}

// run alternates passes and agent settles, a second apart, until the
// plan is empty and nothing changes, or n rounds.
func (w *world) run(n int) {
	w.t.Helper()
	for range n {
		p := w.pass()
		w.now = w.now.Add(time.Second)
		w.settle()
		if len(p.Start) == 0 && len(p.Stop) == 0 && w.svc.Steady {
			return
		}
	}
}

func (w *world) live(dep string) (n int) {
	for _, t := range w.tasks {
		if t.LastStatus != Stopped && (dep == "" || t.Deployment == dep) {
			n++
		}
	}
	return n
}

func (w *world) hasEvent(sub string) bool {
	return slices.ContainsFunc(w.events, func(e string) bool { return strings.Contains(e, sub) })
}
