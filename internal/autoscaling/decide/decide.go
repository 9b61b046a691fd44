// Package decide holds Application Auto Scaling's decisions as pure
// functions: target tracking arithmetic, step adjustments, min/max
// clamping, cooldowns and the schedule expressions of scheduled actions.
// Nothing here does I/O or reads a clock; callers pass the time in.
package decide

import (
	"math"
	"time"
)

// Adjustment types of step scaling policies.
const (
	ChangeInCapacity        = "ChangeInCapacity"
	PercentChangeInCapacity = "PercentChangeInCapacity"
	ExactCapacity           = "ExactCapacity"
)

// Clamp returns n inside [lo, hi].
func Clamp(n, lo, hi int) int {
	if n > hi {
		n = hi
	}
	if n < lo {
		n = lo
	}
	return n
}

// TargetTracking returns the capacity that brings a metric proportional to
// capacity back to target: ceil(capacity × metric / target). Rounding up
// keeps the metric at or below the target (scale out fast, scale in
// conservatively). A target of 0 or less leaves capacity unchanged.
func TargetTracking(capacity int, metric, target float64) int {
	if target <= 0 || math.IsNaN(metric) || math.IsInf(metric, 0) {
		return capacity
	}
	if metric < 0 {
		metric = 0
	}
	// The small epsilon keeps 2 × 50 / 50 at 2 despite float error.
	v := float64(capacity) * metric / target
	n := math.Ceil(v - 1e-9)
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(n)
}

// Step is one step adjustment: it applies when lower <= metric − threshold
// < upper (a nil bound is infinite).
type Step struct {
	Lower, Upper *float64
	Adjustment   int
}

// Matches reports whether the step applies to a breach of delta (metric
// minus the alarm threshold). As in AWS: above the threshold (delta ≥ 0)
// the lower bound is inclusive and the upper exclusive; below it the lower
// bound is exclusive and the upper inclusive.
func (s Step) Matches(delta float64) bool {
	if delta >= 0 {
		return (s.Lower == nil || delta >= *s.Lower) && (s.Upper == nil || delta < *s.Upper)
	}
	return (s.Lower == nil || delta > *s.Lower) && (s.Upper == nil || delta <= *s.Upper)
}

// FindStep returns the step adjustment that applies to delta.
func FindStep(steps []Step, delta float64) (Step, bool) {
	for _, s := range steps {
		if s.Matches(delta) {
			return s, true
		}
	}
	return Step{}, false
}

// Adjust applies a step's adjustment to capacity. For percentages the
// change is truncated toward zero (values between 0 and 1 round to 1 or
// −1, as AWS does) and raised to minMagnitude when it is smaller.
func Adjust(capacity int, adjustmentType string, adjustment, minMagnitude int) int {
	switch adjustmentType {
	case ExactCapacity:
		return adjustment
	case PercentChangeInCapacity:
		change := float64(capacity) * float64(adjustment) / 100
		var d int
		switch {
		case change > 0 && change < 1:
			d = 1
		case change < 0 && change > -1:
			d = -1
		default:
			d = int(math.Trunc(change))
		}
		if minMagnitude > 0 {
			if d > 0 && d < minMagnitude {
				d = minMagnitude
			}
			if d < 0 && -d < minMagnitude {
				d = -minMagnitude
			}
		}
		return capacity + d
	default:
		return capacity + adjustment
	}
}

// Aggregate combines datapoints by a step policy's MetricAggregationType
// (Average, Minimum, Maximum); false when there are none.
func Aggregate(values []float64, how string) (float64, bool) {
	if len(values) == 0 {
		return 0, false
	}
	switch how {
	case "Minimum":
		m := values[0]
		for _, v := range values[1:] {
			m = min(m, v)
		}
		return m, true
	case "Maximum":
		m := values[0]
		for _, v := range values[1:] {
			m = max(m, v)
		}
		return m, true
	}
	var sum float64
	for _, v := range values {
		sum += v
	}
	return sum / float64(len(values)), true
}

// Cooldown is what a scalable target remembers of its last scaling
// activities.
type Cooldown struct {
	// OutUntil is the end of the scale-out cooldown; OutBase is the
	// capacity before the scale-out that started it.
	OutUntil time.Time
	OutBase  int
	// InUntil is the end of the scale-in cooldown.
	InUntil time.Time
}

// Request is one policy's wish to scale.
type Request struct {
	Now     time.Time
	Current int // the current capacity
	Min     int
	Max     int
	// Desired computes the wanted capacity from a base capacity: the
	// current one, or, during a scale-out cooldown, the capacity before
	// the scale-out (the capacity it added counts toward the new one).
	Desired func(base int) int
	// Cooldowns of the policy for the directions (zero: none).
	OutCooldown, InCooldown time.Duration
	// ScaleInBlocked: scale-in is suspended, disabled or the service is
	// deploying.
	ScaleInBlocked  bool
	ScaleOutBlocked bool
}

// Reasons a request does not change capacity, as NotScaledReason codes.
const (
	AlreadyAtMaxCapacity = "AlreadyAtMaxCapacity"
	AlreadyAtMinCapacity = "AlreadyAtMinCapacity"
	AlreadyAtDesired     = "AlreadyAtDesiredCapacity"
	InCooldown           = "InCooldown"
	ScaleInBlocked       = "ScaleInBlocked"
	ScaleOutBlocked      = "ScaleOutBlocked"
)

// Decision is the outcome of Decide.
type Decision struct {
	Scale    bool
	Capacity int    // the new capacity when Scale
	Reason   string // why not, when !Scale
	Cooldown Cooldown
}

// Decide applies min/max, cooldowns and blocks to a request. Scale-out may
// happen during a scale-out cooldown only beyond what the previous
// scale-out reached; scale-in waits for both cooldowns; a scale-out ends
// the scale-in cooldown.
func Decide(r Request, cd Cooldown) Decision {
	inOutCooldown := r.Now.Before(cd.OutUntil)
	base := r.Current
	if inOutCooldown {
		base = cd.OutBase
	}
	want := r.Desired(base)
	n := Clamp(want, r.Min, r.Max)
	if inOutCooldown && n <= r.Current {
		// Nothing beyond what the last scale-out added; a wish to scale
		// in waits for the cooldown.
		if Clamp(r.Desired(r.Current), r.Min, r.Max) < r.Current {
			return Decision{Reason: InCooldown, Cooldown: cd}
		}
		n = r.Current
	}
	switch {
	case n > r.Current:
		if r.ScaleOutBlocked {
			return Decision{Reason: ScaleOutBlocked, Cooldown: cd}
		}
		next := cd
		if !inOutCooldown {
			next.OutBase = r.Current
		}
		if r.OutCooldown > 0 {
			next.OutUntil = r.Now.Add(r.OutCooldown)
		} else {
			next.OutUntil = time.Time{}
		}
		next.InUntil = time.Time{}
		return Decision{Scale: true, Capacity: n, Cooldown: next}
	case n < r.Current:
		if r.ScaleInBlocked {
			return Decision{Reason: ScaleInBlocked, Cooldown: cd}
		}
		if inOutCooldown || r.Now.Before(cd.InUntil) {
			return Decision{Reason: InCooldown, Cooldown: cd}
		}
		next := cd
		if r.InCooldown > 0 {
			next.InUntil = r.Now.Add(r.InCooldown)
		}
		return Decision{Scale: true, Capacity: n, Cooldown: next}
	}
	reason := AlreadyAtDesired
	switch {
	case want > r.Max && r.Current >= r.Max:
		reason = AlreadyAtMaxCapacity
	case want < r.Min && r.Current <= r.Min:
		reason = AlreadyAtMinCapacity
	}
	return Decision{Reason: reason, Cooldown: cd}
}
