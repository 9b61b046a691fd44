package sched

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestRollingUpdateProperty: for random desired counts and percentages,
// with agents that act on each task after a random delay, a rolling update
// never has more than floor(desired × max / 100) tasks running or pending
// nor fewer than ceil(desired × min / 100) healthy, and it completes with
// exactly desired tasks of the new deployment — unless the arithmetic
// allows neither a start nor a stop, when it must not move at all.
func TestRollingUpdateProperty(t *testing.T) {
	for seed := range uint64(300) {
		rnd := rand.New(rand.NewPCG(seed, 7))
		desired := 1 + rnd.IntN(12)
		minPct := rnd.IntN(101)
		maxPct := max(100, minPct) + rnd.IntN(101)
		w := newWorld(t, Replica, desired, minPct, maxPct)
		w.addInstances(1+rnd.IntN(4), InstanceActive, true)
		w.run(20)
		if !w.svc.Steady {
			t.Fatalf("seed %d: initial deployment not steady", seed)
		}
		w.maxTotal, w.minHealthy, w.checkHealthy = MaxTasks(desired, maxPct), MinHealthy(desired, minPct), true
		w.lag = func() bool { return rnd.IntN(3) == 0 }
		id := w.deploy("td:2")
		stuck := MaxTasks(desired, maxPct) <= desired && MinHealthy(desired, minPct) >= desired
		for range 200 {
			w.pass()
			w.now = w.now.Add(time.Second)
			w.settle()
			if w.svc.Steady {
				break
			}
		}
		switch {
		case stuck && (w.live(id) != 0 || w.svc.Deployments[0].RolloutState != InProgress):
			t.Fatalf("seed %d (%d, %d/%d): a deployment the arithmetic forbids moved", seed, desired, minPct, maxPct)
		case !stuck && (w.live(id) != desired || w.live("") != desired || w.svc.Deployments[0].RolloutState != Completed || len(w.svc.Deployments) != 1):
			t.Fatalf("seed %d (%d, %d/%d): not completed: %d of %d new, %+v", seed, desired, minPct, maxPct, w.live(id), desired, w.svc.Deployments)
		}
	}
}
