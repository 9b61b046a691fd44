package sched

import (
	"cmp"
	"slices"
	"time"
)

// tstate is one task's classification in a pass.
type tstate struct {
	t         *Task
	live      bool // desired RUNNING and not STOPPED
	healthy   bool // RUNNING and its health checks (if any) pass
	unhealthy bool // RUNNING, health checks fail, grace period over
	keeper    bool // a live task of the primary deployment where it belongs
	why       string
	stopping  bool // stopped by this pass
}

// Decide is one pass of the service scheduler over one service.
func Decide(snap Snapshot, now time.Time) Plan {
	svc := snap.Service
	svc.Deployments = slices.Clone(svc.Deployments)
	p := Plan{}
	if len(svc.Deployments) == 0 {
		p.Service = svc
		return p
	}
	dep := func(id string) *Deployment {
		for i := range svc.Deployments {
			if svc.Deployments[i].ID == id {
				return &svc.Deployments[i]
			}
		}
		return nil
	}
	insts := make(map[string]Instance, len(snap.Instances))
	for _, in := range snap.Instances {
		insts[in.ID] = in
	}
	tasks := slices.Clone(snap.Tasks)
	slices.SortStableFunc(tasks, func(a, b Task) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})

	// 1. Account for tasks that stopped since the last pass.
	handled := map[string]bool{}
	for _, id := range svc.Handled {
		handled[id] = true
	}
	stopped := []*Task{}
	for i := range tasks {
		if tasks[i].LastStatus == Stopped && !handled[tasks[i].ID] {
			stopped = append(stopped, &tasks[i])
		}
	}
	slices.SortStableFunc(stopped, func(a, b *Task) int { return a.Stopped.Compare(b.Stopped) })
	for _, t := range stopped {
		handled[t.ID] = true
		if t.StopCode == StopCodeScheduler || t.StopCode == StopCodeUser {
			continue
		}
		if d := dep(t.Deployment); d != nil {
			d.FailedTasks++
			if d.Status == Primary && d.RolloutState == InProgress {
				d.Failures++
			}
		}
		if !t.Started.IsZero() {
			svc.StartFailures, svc.RetryAt = 0, time.Time{}
			continue
		}
		svc.StartFailures++
		if svc.StartFailures >= throttleAfter {
			svc.RetryAt = t.Stopped.Add(RetryDelay(svc.StartFailures))
			if svc.StartFailures == throttleAfter {
				p.Events = append(p.Events, ThrottleEvent(svc.Name))
			}
		}
	}
	svc.Handled = svc.Handled[:0:0]
	for _, t := range tasks {
		if handled[t.ID] {
			svc.Handled = append(svc.Handled, t.ID)
		}
	}

	// 2. Classify the tasks that are not stopped.
	states := make([]tstate, 0, len(tasks))
	total := 0
	for i := range tasks {
		t := &tasks[i]
		if t.LastStatus == Stopped {
			continue
		}
		total++
		st := tstate{t: t, live: t.DesiredStatus != Stopped}
		running := t.LastStatus == Running
		st.healthy = st.live && running && (!t.HealthCheck || t.Health == HealthHealthy)
		st.unhealthy = st.live && running && t.HealthCheck && t.Health == HealthUnhealthy &&
			!now.Before(t.Started.Add(svc.GracePeriod))
		if running {
			svc.StartFailures, svc.RetryAt = 0, time.Time{}
		}
		if st.healthy && !t.Started.IsZero() && now.Sub(t.Started) >= HealthyAfter {
			if d := dep(t.Deployment); d != nil && d.Status == Primary {
				d.Failures = 0
			}
		}
		states = append(states, st)
	}
	primary := &svc.Deployments[0]

	// 3. Unhealthy tasks are replaced, and count as failures.
	var stopIDs []string
	stop := func(st *tstate, reason string) {
		st.stopping = true
		p.Stop = append(p.Stop, Stop{TaskID: st.t.ID, Reason: reason})
		stopIDs = append(stopIDs, st.t.ID)
	}
	for i := range states {
		st := &states[i]
		if !st.unhealthy {
			continue
		}
		p.Events = append(p.Events, UnhealthyEvent(svc.Name, st.t.ID))
		if d := dep(st.t.Deployment); d != nil {
			d.FailedTasks++
			if d.Status == Primary && d.RolloutState == InProgress {
				d.Failures++
			}
		}
		stop(st, UnhealthyReason)
	}

	// 4. The circuit breaker.
	if svc.CircuitBreaker && primary.RolloutState == InProgress && primary.Failures >= FailureThreshold(max(primary.DesiredCount, svc.DesiredCount)) {
		primary.RolloutState, primary.RolloutStateReason, primary.UpdatedAt = Failed, BreakerReason, now
		p.Events = append(p.Events, DeploymentFailedEvent(svc.Name, primary.ID))
		if svc.Rollback {
			best := -1
			for i := 1; i < len(svc.Deployments); i++ {
				d := svc.Deployments[i]
				if d.RolloutState == Completed && (best < 0 || d.CreatedAt.After(svc.Deployments[best].CreatedAt)) {
					best = i
				}
			}
			if best > 0 {
				to := svc.Deployments[best]
				to.Status, to.RolloutState, to.RolloutStateReason, to.UpdatedAt = Primary, InProgress, RollbackReason(to.ID), now
				to.Failures = 0
				failed := svc.Deployments[0]
				failed.Status = Active
				rest := []Deployment{to, failed}
				for i := 1; i < len(svc.Deployments); i++ {
					if i != best {
						rest = append(rest, svc.Deployments[i])
					}
				}
				svc.Deployments = rest
				primary = &svc.Deployments[0]
				svc.StartFailures, svc.RetryAt = 0, time.Time{}
				p.Events = append(p.Events, RollbackEvent(svc.Name, to.ID))
			}
		}
	}
	stalled := primary.RolloutState == Failed

	// 5. The desired count and where tasks belong.
	desired := svc.DesiredCount
	if svc.Strategy == Daemon {
		desired = 0
		for _, in := range snap.Instances {
			if in.Status == InstanceActive && in.Eligible {
				desired++
			}
		}
	}
	if svc.Status == StatusDraining {
		desired = 0
	}
	if svc.Strategy == Daemon {
		svc.DesiredCount = desired
	}
	primary.DesiredCount = desired
	minHealthy, maxTotal := MinHealthy(desired, svc.MinHealthyPercent), MaxTasks(desired, svc.MaxPercent)
	if svc.Status == StatusDraining {
		minHealthy = 0
	}
	occupied := map[string]bool{} // DAEMON: instances that have a keeper
	for i := range states {
		st := &states[i]
		if !st.live || st.stopping {
			continue
		}
		t := st.t
		in, known := insts[t.Instance]
		switch {
		case t.Instance != "" && (!known || in.Status != InstanceActive):
			st.why = DrainingReason
		case t.Instance != "" && svc.Strategy == Daemon && !in.Eligible:
			st.why = ScalingReason(primary.ID)
		case t.Deployment != primary.ID:
			st.why = ScalingReason(primary.ID)
		case svc.Strategy == Daemon && occupied[t.Instance]:
			st.why = ScalingReason(primary.ID)
		default:
			st.keeper = true
			occupied[t.Instance] = true
		}
	}
	healthy := 0
	for _, st := range states {
		if st.healthy && !st.stopping {
			healthy++
		}
	}

	// 6. Stops: tasks that do not belong (within minimumHealthyPercent),
	// then keepers above the desired count.
	if !stalled || svc.Status == StatusDraining {
		for pass := 0; pass < 2; pass++ { // not healthy first, then healthy
			for i := range states {
				st := &states[i]
				if !st.live || st.stopping || st.keeper || st.healthy != (pass == 1) {
					continue
				}
				if st.healthy {
					if healthy <= minHealthy {
						continue
					}
					healthy--
				}
				stop(st, st.why)
			}
		}
	}
	keepers := 0
	for _, st := range states {
		if st.keeper {
			keepers++
		}
	}
	if excess := keepers - desired; excess > 0 {
		// Not yet healthy ones first, newest first.
		for pass := 0; pass < 2 && excess > 0; pass++ {
			for i := len(states) - 1; i >= 0 && excess > 0; i-- {
				st := &states[i]
				if !st.keeper || st.stopping || st.healthy != (pass == 1) {
					continue
				}
				st.keeper = false
				stop(st, ScalingReason(primary.ID))
				excess--
			}
		}
		keepers = desired
	}
	if len(stopIDs) > 0 {
		p.Events = append(p.Events, StoppedEvent(svc.Name, stopIDs))
	}

	// 7. Starts, within maximumPercent and the throttle.
	throttled := now.Before(svc.RetryAt)
	if !stalled && svc.Status == StatusActive && !throttled {
		room := maxTotal - total
		switch svc.Strategy {
		case Daemon:
			busy := map[string]bool{}
			for _, st := range states {
				busy[st.t.Instance] = true
			}
			ids := make([]string, 0, len(snap.Instances))
			for _, in := range snap.Instances {
				if in.Status == InstanceActive && in.Eligible && !busy[in.ID] {
					ids = append(ids, in.ID)
				}
			}
			slices.Sort(ids)
			for _, id := range ids {
				if room <= 0 {
					break
				}
				p.Start = append(p.Start, Start{Deployment: primary.ID, TaskDefinition: primary.TaskDefinition, Count: 1, Instance: id})
				room--
			}
		default:
			if n := min(desired-keepers, room); n > 0 {
				p.Start = append(p.Start, Start{Deployment: primary.ID, TaskDefinition: primary.TaskDefinition, Count: n})
			}
		}
	}

	// 8. Counts, drained deployments, completion, steadiness.
	for i := range svc.Deployments {
		svc.Deployments[i].Running, svc.Deployments[i].Pending = 0, 0
	}
	liveByDep := map[string]int{}
	allKeepersHealthy := true
	for _, st := range states {
		d := dep(st.t.Deployment)
		switch {
		case st.t.LastStatus == Running:
			p.RunningCount++
			if d != nil {
				d.Running++
			}
		case st.live:
			p.PendingCount++
			if d != nil {
				d.Pending++
			}
		}
		if d != nil {
			liveByDep[d.ID]++
		}
		if st.keeper && !st.healthy {
			allKeepersHealthy = false
		}
	}
	others := 0
	for _, d := range svc.Deployments[1:] {
		others += liveByDep[d.ID]
	}
	settled := len(p.Start) == 0 && len(p.Stop) == 0 && others == 0 && keepers == desired &&
		allKeepersHealthy && total == keepers
	if settled && primary.RolloutState == InProgress && svc.Status == StatusActive {
		primary.RolloutState, primary.RolloutStateReason, primary.UpdatedAt = Completed, CompletedReason(primary.ID), now
		p.Events = append(p.Events, CompletedEvent(svc.Name, primary.ID))
	}
	// Drained deployments leave the list; while the primary is in progress
	// a drained COMPLETED one stays, the circuit breaker's rollback target.
	kept := svc.Deployments[:1]
	for _, d := range svc.Deployments[1:] {
		if liveByDep[d.ID] > 0 || primary.RolloutState == InProgress && d.RolloutState == Completed {
			d.DesiredCount = 0
			kept = append(kept, d)
		}
	}
	svc.Deployments = kept
	primary = &svc.Deployments[0]
	steady := settled && svc.Status == StatusActive && primary.RolloutState != InProgress
	if steady && !svc.Steady {
		p.Events = append(p.Events, SteadyEvent(svc.Name))
	}
	svc.Steady = steady
	if svc.Status == StatusDraining && total == 0 {
		p.Inactive = true
	}
	p.Service = svc
	return p
}
