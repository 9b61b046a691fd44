package decide

import (
	"testing"
	"time"
)

func f(v float64) *float64 { return &v }

func TestTargetTracking(t *testing.T) {
	for _, c := range []struct {
		cap            int
		metric, target float64
		want           int
	}{
		{2, 100, 50, 4},
		{2, 50, 50, 2},
		{3, 80, 50, 5}, // 4.8 → 5: up, so the metric ends at or under target
		{4, 10, 50, 1}, // 0.8 → 1
		{4, 0, 50, 0},
		{5, 44, 50, 5}, // 4.4 → 5: scale-in rounds up, conservatively
		{10, 30, 75, 4},
		{3, 70, 0, 3},
	} {
		if got := TargetTracking(c.cap, c.metric, c.target); got != c.want {
			t.Errorf("TargetTracking(%d, %v, %v) = %d, want %d", c.cap, c.metric, c.target, got, c.want)
		}
	}
}

func TestSteps(t *testing.T) {
	// Scale-out steps above a threshold of 70 and scale-in steps below.
	steps := []Step{
		{Lower: f(0), Upper: f(10), Adjustment: 1},
		{Lower: f(10), Upper: f(20), Adjustment: 2},
		{Lower: f(20), Adjustment: 3},
	}
	in := []Step{{Upper: f(-10), Adjustment: -2}, {Lower: f(-10), Upper: f(0), Adjustment: -1}}
	for _, c := range []struct {
		steps []Step
		delta float64
		want  int
		ok    bool
	}{
		{steps, 0, 1, true},
		{steps, 9.99, 1, true},
		{steps, 10, 2, true},
		{steps, 20, 3, true},
		{steps, 1e9, 3, true},
		{steps, -1, 0, false},
		{in, -10, -2, true}, // below the threshold the upper bound is inclusive
		{in, -9, -1, true},
		{in, 0, 0, false},
		{in, -100, -2, true},
	} {
		s, ok := FindStep(c.steps, c.delta)
		if ok != c.ok || (ok && s.Adjustment != c.want) {
			t.Errorf("FindStep(%v) = %d,%v want %d,%v", c.delta, s.Adjustment, ok, c.want, c.ok)
		}
	}
}

func TestAdjust(t *testing.T) {
	for _, c := range []struct {
		cap     int
		typ     string
		adj, mm int
		want    int
	}{
		{3, ChangeInCapacity, 2, 0, 5},
		{3, ChangeInCapacity, -5, 0, -2}, // clamping is Decide's job
		{3, ExactCapacity, 7, 0, 7},
		{10, PercentChangeInCapacity, 25, 0, 12}, // 2.5 → 2
		{10, PercentChangeInCapacity, -25, 0, 8},
		{2, PercentChangeInCapacity, 10, 0, 3}, // 0.2 → 1
		{2, PercentChangeInCapacity, -10, 0, 1},
		{10, PercentChangeInCapacity, 10, 3, 13}, // 1 → MinAdjustmentMagnitude 3
		{10, PercentChangeInCapacity, -10, 3, 7},
		{10, PercentChangeInCapacity, 50, 3, 15},
	} {
		if got := Adjust(c.cap, c.typ, c.adj, c.mm); got != c.want {
			t.Errorf("Adjust(%d, %s, %d, %d) = %d, want %d", c.cap, c.typ, c.adj, c.mm, got, c.want)
		}
	}
}

func TestAggregate(t *testing.T) {
	vs := []float64{1, 5, 3}
	for how, want := range map[string]float64{"Average": 3, "Minimum": 1, "Maximum": 5} {
		if got, ok := Aggregate(vs, how); !ok || got != want {
			t.Errorf("%s = %v", how, got)
		}
	}
	if _, ok := Aggregate(nil, "Average"); ok {
		t.Error("no values aggregate")
	}
}

func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(n int) func(int) int { return func(b int) int { return b + n } }
	exact := func(n int) func(int) int { return func(int) int { return n } }
	base := Request{Now: t0, Current: 2, Min: 1, Max: 6, OutCooldown: 5 * time.Minute, InCooldown: 5 * time.Minute}
	with := func(mod func(*Request)) Request { r := base; mod(&r); return r }

	// Scale out by 2 → 4, starts the scale-out cooldown with base 2.
	d := Decide(with(func(r *Request) { r.Desired = add(2) }), Cooldown{})
	if !d.Scale || d.Capacity != 4 || d.Cooldown.OutBase != 2 || !d.Cooldown.OutUntil.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("scale out: %+v", d)
	}
	cd := d.Cooldown
	// During the cooldown, +3 counts the 2 already added: 2+3 = 5, one more.
	d = Decide(with(func(r *Request) { r.Now = t0.Add(time.Minute); r.Current = 4; r.Desired = add(3) }), cd)
	if !d.Scale || d.Capacity != 5 {
		t.Fatalf("scale out in cooldown: %+v", d)
	}
	// … and +2 again adds nothing.
	d = Decide(with(func(r *Request) { r.Now = t0.Add(time.Minute); r.Current = 4; r.Desired = add(2) }), cd)
	if d.Scale || d.Reason != AlreadyAtDesired {
		t.Fatalf("repeat in cooldown: %+v", d)
	}
	// Scale-in waits for the scale-out cooldown.
	d = Decide(with(func(r *Request) { r.Now = t0.Add(time.Minute); r.Current = 4; r.Desired = exact(2) }), cd)
	if d.Scale || d.Reason != InCooldown {
		t.Fatalf("scale in during scale-out cooldown: %+v", d)
	}
	d = Decide(with(func(r *Request) { r.Now = t0.Add(6 * time.Minute); r.Current = 4; r.Desired = exact(2) }), cd)
	if !d.Scale || d.Capacity != 2 || !d.Cooldown.InUntil.Equal(t0.Add(11*time.Minute)) {
		t.Fatalf("scale in after cooldown: %+v", d)
	}
	cd = d.Cooldown
	d = Decide(with(func(r *Request) { r.Now = t0.Add(7 * time.Minute); r.Desired = exact(1) }), cd)
	if d.Scale || d.Reason != InCooldown {
		t.Fatalf("scale in during scale-in cooldown: %+v", d)
	}
	// A scale-out ends the scale-in cooldown.
	d = Decide(with(func(r *Request) { r.Now = t0.Add(7 * time.Minute); r.Desired = exact(3) }), cd)
	if !d.Scale || d.Capacity != 3 || !d.Cooldown.InUntil.IsZero() {
		t.Fatalf("scale out during scale-in cooldown: %+v", d)
	}
	// Bounds.
	d = Decide(with(func(r *Request) { r.Desired = exact(100) }), Cooldown{})
	if !d.Scale || d.Capacity != 6 {
		t.Fatalf("max: %+v", d)
	}
	d = Decide(with(func(r *Request) { r.Current = 6; r.Desired = exact(100) }), Cooldown{})
	if d.Scale || d.Reason != AlreadyAtMaxCapacity {
		t.Fatalf("at max: %+v", d)
	}
	d = Decide(with(func(r *Request) { r.Current = 1; r.Desired = exact(0) }), Cooldown{})
	if d.Scale || d.Reason != AlreadyAtMinCapacity {
		t.Fatalf("at min: %+v", d)
	}
	d = Decide(with(func(r *Request) { r.Desired = exact(0) }), Cooldown{})
	if !d.Scale || d.Capacity != 1 {
		t.Fatalf("to min: %+v", d)
	}
	// Blocks.
	d = Decide(with(func(r *Request) { r.Desired = exact(1); r.ScaleInBlocked = true }), Cooldown{})
	if d.Scale || d.Reason != ScaleInBlocked {
		t.Fatalf("scale-in blocked: %+v", d)
	}
	d = Decide(with(func(r *Request) { r.Desired = exact(5); r.ScaleOutBlocked = true }), Cooldown{})
	if d.Scale || d.Reason != ScaleOutBlocked {
		t.Fatalf("scale-out blocked: %+v", d)
	}
}
