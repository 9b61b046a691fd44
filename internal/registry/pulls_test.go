package registry

import (
	"testing"
	"time"
)

func TestPullTimeDecision(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	const hour = time.Hour
	for _, tc := range []struct {
		name string
		last time.Time
		now  time.Time
		want bool
	}{
		{"never pulled", time.Time{}, t0, true},
		{"just recorded", t0, t0, false},
		{"within the interval", t0, t0.Add(59 * time.Minute), false},
		{"a nanosecond short", t0, t0.Add(hour - 1), false},
		{"exactly the interval", t0, t0.Add(hour), true},
		{"past the interval", t0, t0.Add(25 * hour), true},
		{"clock stepped back a little", t0, t0.Add(-time.Minute), false},
		{"clock stepped back past the interval", t0, t0.Add(-2 * hour), false},
		{"recorded in another zone", t0.In(time.FixedZone("X", 3600)), t0.Add(hour), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := shouldRecordPull(tc.last, tc.now, hour); got != tc.want {
				t.Fatalf("shouldRecordPull(%v, %v, %v) = %v, want %v", tc.last, tc.now, hour, got, tc.want)
			}
		})
	}
}
