package sched

import (
	"strings"
	"testing"
	"time"
)

func TestArithmetic(t *testing.T) {
	for _, c := range []struct{ desired, pct, max, min int }{
		{2, 75, 1, 2},   // ECS's corner case: 75 % of 2 keeps 2 healthy (1.5 rounded up)
		{3, 125, 3, 4},  // 125 % of 3 allows 3 (3.75 rounded down)
		{3, 200, 6, 6},  // the default maximum
		{3, 100, 3, 3},  // the default minimum
		{3, 50, 1, 2},   // 1.5: max floor 1, min ceil 2
		{4, 50, 2, 2},   // exact
		{3, 33, 0, 1},   // 0.99
		{10, 0, 0, 0},   // zero percent
		{0, 200, 0, 0},  // zero desired
		{1, 150, 1, 2},  // 1.5
		{7, 140, 9, 10}, // 9.8
	} {
		if got := MaxTasks(c.desired, c.pct); got != c.max {
			t.Errorf("MaxTasks(%d, %d) = %d, want %d", c.desired, c.pct, got, c.max)
		}
		if got := MinHealthy(c.desired, c.pct); got != c.min {
			t.Errorf("MinHealthy(%d, %d) = %d, want %d", c.desired, c.pct, got, c.min)
		}
	}
	for desired, want := range map[int]int{0: 3, 1: 3, 5: 3, 6: 3, 7: 4, 10: 5, 399: 200, 400: 200, 1000: 200} {
		if got := FailureThreshold(desired); got != want {
			t.Errorf("FailureThreshold(%d) = %d, want %d", desired, got, want)
		}
	}
	for n, want := range map[int]time.Duration{0: 0, 2: 0, 3: 5 * time.Second, 4: 10 * time.Second, 6: 40 * time.Second,
		12: 27 * time.Minute / 1} {
		got := RetryDelay(n)
		if n == 12 {
			want = min(5*time.Second<<9, 27*time.Minute)
		}
		if got != want {
			t.Errorf("RetryDelay(%d) = %v, want %v", n, got, want)
		}
	}
	if RetryDelay(100) != 27*time.Minute {
		t.Errorf("RetryDelay(100) = %v", RetryDelay(100))
	}
}

func TestCreateReachesSteadyState(t *testing.T) {
	w := newWorld(t, Replica, 3, 100, 200)
	w.addInstances(2, InstanceActive, true)
	p := w.pass()
	if len(p.Start) != 1 || p.Start[0].Count != 3 || p.Start[0].Deployment != "ecs-svc/1" {
		t.Fatalf("first pass starts %+v", p.Start)
	}
	w.run(10)
	if w.live("") != 3 || !w.svc.Steady || w.svc.Deployments[0].RolloutState != Completed {
		t.Fatalf("not steady: %d live, %+v", w.live(""), w.svc)
	}
	if !w.hasEvent("(service web) (deployment ecs-svc/1) deployment completed.") || !w.hasEvent("(service web) has reached a steady state.") {
		t.Fatalf("events: %q", w.events)
	}
	// A steady service plans nothing and repeats no event.
	before := len(w.events)
	p = w.pass()
	if len(p.Start)+len(p.Stop) != 0 || len(w.events) != before || p.RunningCount != 3 {
		t.Fatalf("steady pass: %+v", p)
	}
}

// rolling runs a deployment of desired tasks from td:1 to td:2 with the
// given percentages and checks the min/max invariants at every step.
func rolling(t *testing.T, desired, minPct, maxPct int) *world {
	w := newWorld(t, Replica, desired, minPct, maxPct)
	w.addInstances(3, InstanceActive, true)
	w.run(10)
	if !w.svc.Steady {
		t.Fatalf("initial deployment not steady: %+v", w.svc)
	}
	w.maxTotal, w.minHealthy, w.checkHealthy = MaxTasks(desired, maxPct), MinHealthy(desired, minPct), true
	id := w.deploy("td:2")
	w.run(40)
	if w.live(id) != desired || w.live("") != desired || len(w.svc.Deployments) != 1 || w.svc.Deployments[0].RolloutState != Completed {
		t.Fatalf("%d/%d/%d: rollout did not complete in %d passes: %d live of the new deployment, %+v", desired, minPct, maxPct, w.passes, w.live(id), w.svc.Deployments)
	}
	return w
}

func TestRollingUpdateMinMax(t *testing.T) {
	for _, c := range []struct{ desired, min, max int }{
		{3, 100, 200}, // start 3 new, then stop 3 old
		{3, 50, 100},  // stop 1 old first (min 2), start, repeat
		{3, 0, 100},   // stop all, start all
		{4, 50, 150},  // 2 extra, 2 may go
		{2, 75, 200},  // 75 % of 2 = 2 healthy kept; room from max
		{3, 66, 125},  // 125 % of 3 = 3: no room above desired, min 2 lets one go at a time
		{10, 90, 110},
		{1, 0, 100},
	} {
		rolling(t, c.desired, c.min, c.max)
	}
}

func TestRollingUpdateStallsWhenArithmeticForbids(t *testing.T) {
	// 75 % of 2 keeps both healthy and 100 % of 2 allows no third: ECS
	// can neither stop nor start, and neither does Wharf.
	for _, c := range []struct{ desired, min, max int }{{2, 75, 100}, {3, 100, 125}} {
		w := newWorld(t, Replica, c.desired, c.min, c.max)
		w.addInstances(2, InstanceActive, true)
		w.run(10)
		w.deploy("td:2")
		for range 5 {
			p := w.pass()
			if len(p.Start)+len(p.Stop) != 0 {
				t.Fatalf("%+v: plan %+v", c, p)
			}
			w.settle()
		}
		if w.svc.Deployments[0].RolloutState != InProgress || len(w.svc.Deployments) != 2 {
			t.Fatalf("%+v: %+v", c, w.svc.Deployments)
		}
	}
}

func TestScaleInAndOut(t *testing.T) {
	w := newWorld(t, Replica, 5, 100, 200)
	w.addInstances(2, InstanceActive, true)
	w.run(10)
	w.svc.DesiredCount = 2
	p := w.pass()
	if len(p.Stop) != 3 || !strings.Contains(p.Stop[0].Reason, "Scaling activity initiated by (deployment ecs-svc/1)") {
		t.Fatalf("scale in: %+v", p.Stop)
	}
	if !strings.HasPrefix(p.Events[0], "(service web) has stopped 3 running tasks: (task ") {
		t.Fatalf("event %q", p.Events)
	}
	w.settle()
	w.run(5)
	w.svc.DesiredCount = 4
	w.run(5)
	if w.live("") != 4 || !w.svc.Steady {
		t.Fatalf("scale out: %d", w.live(""))
	}
}

func TestStoppedTaskReplaced(t *testing.T) {
	w := newWorld(t, Replica, 3, 100, 200)
	w.addInstances(1, InstanceActive, true)
	w.run(10)
	w.tasks[0].LastStatus, w.tasks[0].DesiredStatus, w.tasks[0].StopCode, w.tasks[0].Stopped = Stopped, Stopped, "EssentialContainerExited", w.now
	p := w.pass()
	if len(p.Start) != 1 || p.Start[0].Count != 1 {
		t.Fatalf("replacement: %+v", p)
	}
	if w.svc.Deployments[0].FailedTasks != 1 || w.svc.Steady {
		t.Fatalf("after a failure: %+v", w.svc)
	}
	// The stop is accounted for once.
	w.settle()
	w.pass()
	if w.svc.Deployments[0].FailedTasks != 1 {
		t.Fatalf("failure counted twice: %+v", w.svc.Deployments[0])
	}
}

func TestCircuitBreakerRollsBack(t *testing.T) {
	w := newWorld(t, Replica, 3, 100, 200)
	w.svc.CircuitBreaker, w.svc.Rollback = true, true
	w.addInstances(2, InstanceActive, true)
	w.run(10)
	w.maxTotal, w.minHealthy, w.checkHealthy = 6, 3, true
	bad := w.deploy("td:bad")
	w.fail = func(dep string) bool { return dep == bad }
	w.run(30)
	if w.svc.Deployments[0].ID != "ecs-svc/1" || w.svc.Deployments[0].RolloutState != Completed || len(w.svc.Deployments) != 1 {
		t.Fatalf("not rolled back: %+v", w.svc.Deployments)
	}
	for _, e := range []string{
		"(service web) deployment " + bad + " deployment failed: tasks failed to start.",
		"(service web) rolling back to deployment ecs-svc/1.",
	} {
		if !w.hasEvent(e) {
			t.Fatalf("no event %q in %q", e, w.events)
		}
	}
	if w.live(bad) != 0 || w.live("ecs-svc/1") != 3 {
		t.Fatalf("live: bad %d, good %d", w.live(bad), w.live("ecs-svc/1"))
	}
}

func TestCircuitBreakerWithoutRollbackStalls(t *testing.T) {
	w := newWorld(t, Replica, 8, 100, 200)
	w.svc.CircuitBreaker = true
	w.addInstances(2, InstanceActive, true)
	w.run(10)
	bad := w.deploy("td:bad")
	w.fail = func(dep string) bool { return dep == bad }
	for range 20 {
		w.pass()
		w.now = w.now.Add(time.Second)
		w.settle()
	}
	d := w.svc.Deployments[0]
	if d.ID != bad || d.RolloutState != Failed || d.RolloutStateReason != BreakerReason {
		t.Fatalf("deployment: %+v", d)
	}
	// Threshold for 8 is 4: the first pass starts 8 which all fail.
	if d.FailedTasks < FailureThreshold(8) {
		t.Fatalf("failed tasks %d", d.FailedTasks)
	}
	p := w.pass()
	if len(p.Start) != 0 || len(p.Stop) != 0 || w.live("ecs-svc/1") != 8 {
		t.Fatalf("a failed deployment goes on: %+v, old live %d", p, w.live("ecs-svc/1"))
	}
}

func TestCircuitBreakerCountsConsecutiveFailures(t *testing.T) {
	w := newWorld(t, Replica, 2, 100, 200)
	w.svc.CircuitBreaker = true
	w.addInstances(1, InstanceActive, true)
	fails := 2
	w.fail = func(string) bool {
		if fails > 0 {
			fails--
			return true
		}
		return false
	}
	for range 4 {
		w.pass()
		w.now = w.now.Add(time.Second)
		w.settle()
	}
	if d := w.svc.Deployments[0]; d.Failures != 2 || d.FailedTasks != 2 {
		t.Fatalf("after 2 failures: %+v", d)
	}
	// Healthy for HealthyAfter resets the count; FailedTasks stays.
	w.now = w.now.Add(HealthyAfter)
	w.pass()
	if d := w.svc.Deployments[0]; d.Failures != 0 || d.FailedTasks != 2 {
		t.Fatalf("after healthy tasks: %+v", d)
	}
}

func TestThrottle(t *testing.T) {
	w := newWorld(t, Replica, 1, 100, 200)
	w.addInstances(1, InstanceActive, true)
	w.fail = func(string) bool { return true }
	starts := []time.Time{}
	for range 200 {
		p := w.pass()
		if len(p.Start) > 0 {
			starts = append(starts, w.now)
		}
		w.now = w.now.Add(time.Second)
		w.settle()
	}
	// Starts 1, 2, 3 back to back (each fails a second later), then 5 s,
	// 10 s, 20 s, 40 s after the failure.
	var gaps []time.Duration
	for i := 1; i < len(starts); i++ {
		gaps = append(gaps, starts[i].Sub(starts[i-1]))
	}
	if len(gaps) < 6 || gaps[0] != time.Second || gaps[1] != time.Second || gaps[2] != 6*time.Second || gaps[3] != 11*time.Second ||
		gaps[4] != 21*time.Second || gaps[5] != 41*time.Second {
		t.Fatalf("start gaps %v", gaps)
	}
	n := 0
	for _, e := range w.events {
		if e == ThrottleEvent("web") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("throttle event %d times: %q", n, w.events)
	}
	// A new deployment starts at once (the API resets the throttle), and a
	// task reaching RUNNING clears it.
	w.fail = nil
	w.deploy("td:2")
	if p := w.pass(); len(p.Start) != 1 {
		t.Fatalf("new deployment throttled: %+v", p)
	}
	w.settle()
	w.pass()
	if w.svc.StartFailures != 0 || !w.svc.RetryAt.IsZero() {
		t.Fatalf("throttle not cleared: %+v", w.svc)
	}
}

func TestUnhealthyReplacedAfterGrace(t *testing.T) {
	w := newWorld(t, Replica, 2, 100, 200)
	w.svc.GracePeriod = 30 * time.Second
	w.addInstances(1, InstanceActive, true)
	sick := map[string]bool{}
	w.health = func(t *Task) string {
		if sick[t.ID] {
			return HealthUnhealthy
		}
		return HealthHealthy
	}
	w.run(10)
	if !w.svc.Steady {
		t.Fatal("not steady")
	}
	victim := w.tasks[0].ID
	sick[victim] = true
	w.settle()
	// Within the grace period the unhealthy task stays.
	if p := w.pass(); len(p.Stop) != 0 {
		t.Fatalf("stopped within grace: %+v", p)
	}
	w.now = w.now.Add(30 * time.Second)
	p := w.pass()
	if len(p.Stop) != 1 || p.Stop[0].TaskID != victim || p.Stop[0].Reason != UnhealthyReason || len(p.Start) != 1 {
		t.Fatalf("plan %+v", p)
	}
	if !w.hasEvent("(service web) (task " + victim + ") failed container health checks.") {
		t.Fatalf("events %q", w.events)
	}
	w.settle()
	w.run(5)
	if w.live("") != 2 || !w.svc.Steady {
		t.Fatalf("live %d", w.live(""))
	}
}

func TestDaemonFollowsInstances(t *testing.T) {
	w := newWorld(t, Daemon, 0, 0, 100)
	w.addInstances(2, InstanceActive, true)
	w.addInstances(1, InstanceActive, false) // does not meet the constraints
	w.run(10)
	if w.live("") != 2 || w.svc.DesiredCount != 2 || !w.svc.Steady {
		t.Fatalf("two instances: %d live, desired %d", w.live(""), w.svc.DesiredCount)
	}
	on := func(inst string) (n int) {
		for _, t := range w.tasks {
			if t.Instance == inst && t.LastStatus != Stopped {
				n++
			}
		}
		return n
	}
	if on("i00") != 1 || on("i01") != 1 || on("i02") != 0 {
		t.Fatalf("placement: %d %d %d", on("i00"), on("i01"), on("i02"))
	}
	// A third eligible instance joins.
	w.addInstances(1, InstanceActive, true)
	w.run(10)
	if on("i03") != 1 || w.svc.DesiredCount != 3 {
		t.Fatalf("joined instance has %d tasks", on("i03"))
	}
	// One drains: its task stops and is not placed elsewhere.
	w.insts[0].Status = InstanceDraining
	p := w.pass()
	if len(p.Stop) != 1 || p.Stop[0].Reason != DrainingReason || len(p.Start) != 0 {
		t.Fatalf("drain plan %+v", p)
	}
	w.settle()
	w.run(5)
	if on("i00") != 0 || w.live("") != 2 || w.svc.DesiredCount != 2 {
		t.Fatalf("after drain: %d on i00, %d live", on("i00"), w.live(""))
	}
	// One leaves (deregistered): gone from the snapshot.
	w.insts = w.insts[2:]
	w.run(5)
	if on("i01") != 0 || w.live("") != 1 {
		t.Fatalf("after leave: %d live", w.live(""))
	}
	// A new revision replaces each instance's task (max 100: stop, then start).
	w.insts = append(w.insts, Instance{ID: "i09", Status: InstanceActive, Eligible: true})
	w.run(5)
	w.maxTotal = 2
	id := w.deploy("td:2")
	w.run(10)
	if w.live(id) != 2 || w.live("") != 2 || w.svc.Deployments[0].RolloutState != Completed {
		t.Fatalf("daemon rollout: %d new, %+v", w.live(id), w.svc.Deployments)
	}
}

func TestDrainingInstanceReplacedWithinMinimum(t *testing.T) {
	w := newWorld(t, Replica, 4, 50, 100)
	w.addInstances(2, InstanceActive, true)
	w.run(10)
	w.insts[0].Status = InstanceDraining
	w.maxTotal, w.minHealthy, w.checkHealthy = 4, 2, true
	w.run(20)
	for _, t2 := range w.tasks {
		if t2.LastStatus != Stopped && t2.Instance == "i00" {
			t.Fatalf("task %s still on the draining instance", t2.ID)
		}
	}
	if w.live("") != 4 || !w.svc.Steady {
		t.Fatalf("live %d steady %v", w.live(""), w.svc.Steady)
	}
}

func TestDrainingServiceBecomesInactive(t *testing.T) {
	w := newWorld(t, Replica, 3, 100, 200)
	w.addInstances(1, InstanceActive, true)
	w.run(10)
	w.svc.Status, w.svc.DesiredCount = StatusDraining, 0
	p := w.pass()
	if len(p.Stop) != 3 || p.Inactive {
		t.Fatalf("draining plan: %+v", p)
	}
	w.settle()
	if p := w.pass(); !p.Inactive || len(p.Start) != 0 {
		t.Fatalf("after stops: %+v", p)
	}
}
